package tailbase

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"go.opentelemetry.io/collector/extension/xextension/storage"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

type extraState struct {
	Names []string `json:"names"`
	End   int64    `json:"end"`
}

func TestStoreWritesAtomicallyWithExtraState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	s, err := OpenStore[extraState](path, "extra", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	if !s.Empty() {
		t.Fatal("new store not empty")
	}
	want := extraState{Names: []string{"a"}, End: 10}
	s.Prepare = func(context.Context) (extraState, error) { return want, nil }
	ctx := context.Background()
	if err := s.Set(ctx, "knownFiles", []byte("cp1")); err != nil {
		t.Fatal(err)
	}
	if s.Empty() || s.Writes() != 1 {
		t.Fatalf("after a write: empty %v, writes %d", s.Empty(), s.Writes())
	}
	get := storage.GetOperation("knownFiles")
	if err := s.Batch(ctx, get); err != nil || string(get.Value) != "cp1" {
		t.Fatalf("batch get %q %v", get.Value, err)
	}

	// A failed flush must not advance the stored checkpoint.
	s.Prepare = func(context.Context) (extraState, error) { return extraState{}, errors.New("sink down") }
	if err := s.Set(ctx, "knownFiles", []byte("cp2")); err == nil {
		t.Fatal("Set succeeded although the flush failed")
	}
	if s.Err() == nil {
		t.Fatal("error not retained")
	}

	s2, err := OpenStore[extraState](path, "extra", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := s2.Get(ctx, "knownFiles"); string(v) != "cp1" {
		t.Fatalf("reloaded checkpoint %q", v)
	}
	if got := s2.Loaded(); len(got.Names) != 1 || got.Names[0] != "a" || got.End != 10 {
		t.Fatalf("reloaded extra state %+v", got)
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

func TestStoreReadsStateWrittenByEarlierVersions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	old := `{"version":1,"kv":{"knownFiles":"Y3A="},"extra":{"names":["x"],"end":3}}`
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := OpenStore[extraState](path, "extra", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Get(context.Background(), "knownFiles"); string(v) != "cp" {
		t.Fatalf("checkpoint %q", v)
	}
	if got := s.Loaded(); got.End != 3 || len(got.Names) != 1 {
		t.Fatalf("extra state %+v", got)
	}
}

func TestStoreMovesCorruptStateAside(t *testing.T) {
	for name, content := range map[string]string{
		"not json":      "{not json",
		"wrong version": `{"version":7,"kv":{"knownFiles":"Y3A="}}`,
		"bad kv":        `{"version":1,"kv":[1,2]}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := OpenStore[extraState](path, "extra", quietLogger())
			if err != nil {
				t.Fatal(err)
			}
			if !s.Empty() {
				t.Fatal("corrupt state produced a checkpoint")
			}
			if _, err := os.Stat(path + ".corrupt"); err != nil {
				t.Fatalf("corrupt state not kept aside: %v", err)
			}
		})
	}
}
