package tailbase

import "math/bits"

// idSet is a multiset of uint64 ids with a fixed upper bound on the ids it
// holds at once, built for the delivered-id ring: an open-addressing table
// with linear probing, at most a third full, whose deletions shift the
// following entries back instead of leaving tombstones, so lookups never
// slow down however many ids pass through it. The low load keeps probe runs
// short, which is what makes it fast (a half-full table took twice as long
// per id, mostly in mispredicted probe loops); even so it needs less memory
// than a Go map of the same ids (8 MiB against 9 MiB for 2^18 ids) and
// allocates nothing after it is made.
//
// Most lookups are for new lines, i.e. misses, and in a busy agent the
// table is not in the CPU cache. A bitmap of the occupied slots, 1/64 of the
// table's size, answers most misses without touching the table: when the
// slot where the probe starts is empty, the id is absent.
//
// Slot value 0 means empty, so the id 0 is counted apart. An id held more
// than once (the same line id delivered twice) occupies one slot; the extra
// occurrences are counted in a map that is empty in practice.
type idSet struct {
	slots []uint64
	used  []uint64 // bit i set: slots[i] holds an id
	mask  uint64
	shift uint8 // 64 - log2(len(slots))
	n     int   // distinct non-zero ids in slots
	zeros uint32
	extra map[uint64]uint32 // occurrences beyond the first
}

// newIDSet returns a set sized for up to capacity ids held at once.
func newIDSet(capacity int) *idSet {
	size := 8
	for size < 3*capacity {
		size <<= 1
	}
	return &idSet{
		slots: make([]uint64, size),
		used:  make([]uint64, size/64+1),
		mask:  uint64(size - 1),
		shift: uint8(64 - bits.TrailingZeros(uint(size))),
	}
}

// home is the slot where the probe for id starts. The ids are hashes
// already, but tests and other callers may use small sequential numbers;
// Fibonacci hashing spreads those too.
func (s *idSet) home(id uint64) uint64 {
	return (id * 0x9e3779b97f4a7c15) >> s.shift
}

// find returns the slot holding id, or -1.
func (s *idSet) find(id uint64) int {
	for i := s.home(id); ; i = (i + 1) & s.mask {
		switch s.slots[i] {
		case id:
			return int(i)
		case 0:
			return -1
		}
	}
}

func (s *idSet) contains(id uint64) bool {
	if id == 0 {
		return s.zeros > 0
	}
	if h := s.home(id); s.used[h>>6]&(1<<(h&63)) == 0 {
		return false
	}
	return s.find(id) >= 0
}

// add counts one more occurrence of id. The caller keeps the number of
// distinct ids within the capacity the set was made for.
func (s *idSet) add(id uint64) {
	if id == 0 {
		s.zeros++
		return
	}
	i := s.home(id)
	for ; s.slots[i] != 0; i = (i + 1) & s.mask {
		if s.slots[i] == id {
			if s.extra == nil {
				s.extra = make(map[uint64]uint32)
			}
			s.extra[id]++
			return
		}
	}
	if 2*(s.n+1) > len(s.slots) {
		// Only a caller breaking the capacity contract gets here; grow
		// rather than loop forever on a full table.
		s.grow()
		s.add(id)
		return
	}
	s.slots[i] = id
	s.used[i>>6] |= 1 << (i & 63)
	s.n++
}

// remove drops one occurrence of id, if it has any.
func (s *idSet) remove(id uint64) {
	if id == 0 {
		if s.zeros > 0 {
			s.zeros--
		}
		return
	}
	if len(s.extra) > 0 {
		if c, ok := s.extra[id]; ok {
			if c <= 1 {
				delete(s.extra, id)
			} else {
				s.extra[id] = c - 1
			}
			return
		}
	}
	f := s.find(id)
	if f < 0 {
		return
	}
	// Backward-shift deletion: move each following entry of the probe run
	// into the hole when its home does not lie between the hole and it.
	hole := uint64(f)
	for j := (hole + 1) & s.mask; s.slots[j] != 0; j = (j + 1) & s.mask {
		k := s.home(s.slots[j])
		if (j-k)&s.mask >= (j-hole)&s.mask {
			s.slots[hole] = s.slots[j]
			hole = j
		}
	}
	s.slots[hole] = 0
	s.used[hole>>6] &^= 1 << (hole & 63)
	s.n--
}

func (s *idSet) grow() {
	old := s.slots
	g := newIDSet(len(old))
	g.zeros, g.extra = s.zeros, s.extra
	for _, id := range old {
		if id != 0 {
			g.add(id)
		}
	}
	*s = *g
}
