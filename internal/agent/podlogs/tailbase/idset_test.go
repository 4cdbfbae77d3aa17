package tailbase

import (
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// The set must agree with a counting map through any mix of additions and
// removals, including id 0, repeated ids and ids crowding one probe run.
func TestIDSetMatchesMap(t *testing.T) {
	for _, capacity := range []int{1, 3, 64, 1000} {
		rng := rand.New(rand.NewPCG(uint64(capacity), 7))
		s := newIDSet(capacity)
		ref := map[uint64]int{}
		var held []uint64
		// Small sequential ids, a narrow range that repeats, and random ones.
		pick := func() uint64 {
			switch rng.IntN(4) {
			case 0:
				return uint64(rng.IntN(8))
			case 1:
				return uint64(rng.IntN(3 * capacity))
			case 2:
				return uint64(rng.IntN(4)) << 60 // same low bits
			default:
				return rng.Uint64()
			}
		}
		for step := range 200 * capacity {
			if len(held) < capacity && (len(held) == 0 || rng.IntN(2) == 0) {
				id := pick()
				s.add(id)
				ref[id]++
				held = append(held, id)
			} else {
				k := rng.IntN(len(held))
				id := held[k]
				held[k] = held[len(held)-1]
				held = held[:len(held)-1]
				s.remove(id)
				if ref[id]--; ref[id] == 0 {
					delete(ref, id)
				}
			}
			if step%17 == 0 {
				checkUsedBits(t, s)
				for id, n := range ref {
					if !s.contains(id) {
						t.Fatalf("capacity %d step %d: %d (x%d) missing", capacity, step, id, n)
					}
				}
				for range 8 {
					if id := pick(); ref[id] == 0 && s.contains(id) {
						t.Fatalf("capacity %d step %d: %d found but not held", capacity, step, id)
					}
				}
			}
		}
		if len(s.slots) > 8 && len(s.slots) >= 6*capacity {
			t.Fatalf("capacity %d grew the table to %d slots", capacity, len(s.slots))
		}
	}
}

func TestIDSetGrowsWhenOverfilled(t *testing.T) {
	s := newIDSet(2)
	for id := uint64(1); id <= 100; id++ {
		s.add(id)
	}
	for id := uint64(1); id <= 100; id++ {
		if !s.contains(id) {
			t.Fatalf("%d lost while growing", id)
		}
	}
	if s.contains(101) {
		t.Fatal("101 found")
	}
	checkUsedBits(t, s)
}

// Repeated ids in the ring keep a line suppressed until its last
// occurrence is evicted.
func TestRingCountsRepeatedIDs(t *testing.T) {
	r, err := OpenRing(filepath.Join(t.TempDir(), "ids"), 3)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_ = r.Record([]uint64{5, 0, 5})
	_ = r.Record([]uint64{6})
	if !r.Contains(5) || !r.Contains(0) {
		t.Fatalf("ring %v", r.Ordered())
	}
	_ = r.Record([]uint64{7})
	if r.Contains(0) || !r.Contains(5) {
		t.Fatalf("ring %v", r.Ordered())
	}
	_ = r.Record([]uint64{8})
	if r.Contains(5) {
		t.Fatalf("ring %v", r.Ordered())
	}
}

func checkUsedBits(t *testing.T, s *idSet) {
	t.Helper()
	for i, id := range s.slots {
		if got := s.used[i>>6]&(1<<(uint(i)&63)) != 0; got != (id != 0) {
			t.Fatalf("slot %d holds %d but its used bit is %v", i, id, got)
		}
	}
}
