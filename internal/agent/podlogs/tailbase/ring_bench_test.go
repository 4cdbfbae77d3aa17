package tailbase

import (
	"math/rand/v2"
	"path/filepath"
	"testing"
)

const benchCapacity = 1 << 18 // the tailers' default DedupCapacity

// benchRing returns a full ring of the default capacity whose file is
// closed, so the benchmarks measure the in-memory structure only.
func benchRing(b *testing.B) (*Ring, []uint64) {
	b.Helper()
	r, err := OpenRing(filepath.Join(b.TempDir(), "ids"), benchCapacity)
	if err != nil {
		b.Fatal(err)
	}
	_ = r.f.Close()
	r.f = nil
	rng := rand.New(rand.NewPCG(1, 2))
	ids := make([]uint64, benchCapacity)
	for i := range ids {
		ids[i] = rng.Uint64()
	}
	for i := 0; i < len(ids); i += 1000 {
		_ = r.Record(ids[i:min(i+1000, len(ids))])
	}
	return r, ids
}

// BenchmarkRingRecord measures one id recorded into a full ring (which
// evicts the oldest), in batches of 1000 as the tailers deliver them.
func BenchmarkRingRecord(b *testing.B) {
	r, _ := benchRing(b)
	rng := rand.New(rand.NewPCG(3, 4))
	batch := make([]uint64, 1000)
	enc := make([]byte, 8*len(batch))
	b.ResetTimer()
	for done := 0; done < b.N; done += len(batch) {
		n := min(len(batch), b.N-done)
		for i := range n {
			batch[i] = rng.Uint64()
		}
		_ = r.RecordEncoded(batch[:n], enc[:8*n])
	}
}

// BenchmarkRingContainsHit looks up ids that are in the ring.
func BenchmarkRingContainsHit(b *testing.B) {
	r, ids := benchRing(b)
	b.ResetTimer()
	hits := 0
	for i := range b.N {
		if r.Contains(ids[(i*7919)&(benchCapacity-1)]) {
			hits++
		}
	}
	if hits != b.N {
		b.Fatalf("%d of %d found", hits, b.N)
	}
}

// BenchmarkRingContainsMiss looks up ids that are not in the ring, the
// common case for lines read for the first time.
func BenchmarkRingContainsMiss(b *testing.B) {
	r, _ := benchRing(b)
	rng := rand.New(rand.NewPCG(5, 6))
	probe := make([]uint64, 1<<16)
	for i := range probe {
		probe[i] = rng.Uint64()
	}
	b.ResetTimer()
	hits := 0
	for i := range b.N {
		if r.Contains(probe[i&(len(probe)-1)]) {
			hits++
		}
	}
	if hits != 0 {
		b.Fatalf("%d false hits", hits)
	}
}

// BenchmarkRingContainsMissCold is ContainsMiss over eight rings in turn,
// so the lookups find little of a ring in the CPU caches, as in an agent
// that does other work between them.
func BenchmarkRingContainsMissCold(b *testing.B) {
	var rings []*Ring
	for range 8 {
		r, _ := benchRing(b)
		rings = append(rings, r)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	probe := make([]uint64, 1<<16)
	for i := range probe {
		probe[i] = rng.Uint64()
	}
	b.ResetTimer()
	hits := 0
	for i := range b.N {
		if rings[i&7].Contains(probe[i&(len(probe)-1)]) {
			hits++
		}
	}
	if hits != 0 {
		b.Fatalf("%d false hits", hits)
	}
}
