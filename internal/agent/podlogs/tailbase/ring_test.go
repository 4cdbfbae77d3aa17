package tailbase

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRingPersistsAndEvicts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ids")
	r, err := OpenRing(path, 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Record([]uint64{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if err := r.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := r.Record([]uint64{4, 5}); err != nil {
		t.Fatal(err)
	}
	if err := r.Sync(); err != nil {
		t.Fatal(err)
	}
	if r.Contains(1) || !r.Contains(2) || !r.Contains(5) {
		t.Fatalf("capacity 4 should hold 2..5: %v", r.Ordered())
	}
	_ = r.Close()

	// A crash mid-append leaves a torn entry at the end.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte{9, 9, 9}); err != nil {
		t.Fatal(err)
	}
	f.Close()

	r, err = OpenRing(path, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := r.Ordered(); len(got) != 4 || got[0] != 2 || got[3] != 5 {
		t.Fatalf("reloaded %v", got)
	}
	if info, _ := os.Stat(path); info.Size()%8 != 0 || info.Size() > 8*4 {
		t.Fatalf("file not repaired: %d bytes", info.Size())
	}
	// The file stays bounded however much is recorded.
	for i := range 100 {
		if err := r.Record([]uint64{uint64(100 + i)}); err != nil {
			t.Fatal(err)
		}
		if err := r.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if info, _ := os.Stat(path); info.Size() > 8*2*4+8 {
		t.Fatalf("ring file grew to %d bytes", info.Size())
	}
	if !r.Contains(199) || r.Contains(195) {
		t.Fatalf("ring %v", r.Ordered())
	}
}

func TestOpenRingRejectsZeroCapacity(t *testing.T) {
	if _, err := OpenRing(filepath.Join(t.TempDir(), "ids"), 0); err == nil {
		t.Fatal("capacity 0 accepted")
	}
}
