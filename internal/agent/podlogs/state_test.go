package podlogs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/collector/extension/xextension/storage"
)

func TestRingPersistsAndEvicts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ids")
	r, err := openRing(path, 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.record([]uint64{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if err := r.sync(); err != nil {
		t.Fatal(err)
	}
	if err := r.record([]uint64{4, 5}); err != nil {
		t.Fatal(err)
	}
	if err := r.sync(); err != nil {
		t.Fatal(err)
	}
	if r.contains(1) || !r.contains(2) || !r.contains(5) {
		t.Fatalf("capacity 4 should hold 2..5: %v", r.ordered())
	}
	_ = r.close()

	// A crash mid-append leaves a torn entry at the end.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte{9, 9, 9}); err != nil {
		t.Fatal(err)
	}
	f.Close()

	r, err = openRing(path, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	if got := r.ordered(); len(got) != 4 || got[0] != 2 || got[3] != 5 {
		t.Fatalf("reloaded %v", got)
	}
	if info, _ := os.Stat(path); info.Size()%8 != 0 || info.Size() > 8*4 {
		t.Fatalf("file not repaired: %d bytes", info.Size())
	}
	// The file stays bounded however much is recorded.
	for i := range 100 {
		if err := r.record([]uint64{uint64(100 + i)}); err != nil {
			t.Fatal(err)
		}
		if err := r.sync(); err != nil {
			t.Fatal(err)
		}
	}
	if info, _ := os.Stat(path); info.Size() > 8*2*4+8 {
		t.Fatalf("ring file grew to %d bytes", info.Size())
	}
	if !r.contains(199) || r.contains(195) {
		t.Fatalf("ring %v", r.ordered())
	}
}

func TestFileStoreWritesAtomicallyWithPartials(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	s, err := openFileStore(path, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	want := assemblerState{Files: []*fileState{{Path: "/r/a", End: 10, Partials: map[string]*partialMsg{
		StreamStdout: {Stream: StreamStdout, Time: time.Unix(1, 0).UTC(), Msg: []byte("half"), IDs: []uint64{7}},
	}}}}
	s.prepare = func(context.Context) (assemblerState, error) { return want, nil }
	ctx := context.Background()
	if err := s.Set(ctx, "knownFiles", []byte("cp1")); err != nil {
		t.Fatal(err)
	}
	get := storage.GetOperation("knownFiles")
	if err := s.Batch(ctx, get); err != nil || string(get.Value) != "cp1" {
		t.Fatalf("batch get %q %v", get.Value, err)
	}

	// A failed flush must not advance the stored checkpoint.
	s.prepare = func(context.Context) (assemblerState, error) { return assemblerState{}, errors.New("sink down") }
	if err := s.Set(ctx, "knownFiles", []byte("cp2")); err == nil {
		t.Fatal("Set succeeded although the flush failed")
	}
	if s.err() == nil {
		t.Fatal("error not retained")
	}

	s2, err := openFileStore(path, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := s2.Get(ctx, "knownFiles"); string(v) != "cp1" {
		t.Fatalf("reloaded checkpoint %q", v)
	}
	got := s2.loadedPartials()
	if len(got.Files) != 1 || string(got.Files[0].Partials[StreamStdout].Msg) != "half" || got.Files[0].End != 10 {
		t.Fatalf("reloaded partials %+v", got)
	}
	if err := s2.Delete(ctx, "knownFiles"); err != nil {
		t.Fatal(err)
	}
	if v, _ := s2.Get(ctx, "knownFiles"); v != nil {
		t.Fatalf("deleted key still there: %q", v)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

func TestFileStoreMovesCorruptStateAside(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := openFileStore(path, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Get(context.Background(), "knownFiles"); v != nil {
		t.Fatal("corrupt state produced a checkpoint")
	}
	if _, err := os.Stat(path + ".corrupt"); err != nil {
		t.Fatalf("corrupt state not kept aside: %v", err)
	}
}
