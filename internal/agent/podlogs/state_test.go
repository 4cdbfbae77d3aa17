package podlogs

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"vigil/internal/agent/podlogs/tailbase"
)

// The ring and the store are tested in tailbase; this checks that the
// partials survive the store under the member name earlier state files use.
func TestStateFileKeepsPartials(t *testing.T) {
	path := filepath.Join(t.TempDir(), stateFileName)
	s, err := tailbase.OpenStore[assemblerState](path, "partials", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	want := assemblerState{Files: []*fileState{{Path: "/r/a", End: 10, Partials: map[string]*partialMsg{
		StreamStdout: {Stream: StreamStdout, Time: time.Unix(1, 0).UTC(), Msg: []byte("half"), IDs: []uint64{7}},
	}}}}
	s.Prepare = func(context.Context) (assemblerState, error) { return want, nil }
	if err := s.Set(context.Background(), "knownFiles", []byte("cp1")); err != nil {
		t.Fatal(err)
	}

	s2, err := tailbase.OpenStore[assemblerState](path, "partials", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	got := s2.Loaded()
	if len(got.Files) != 1 || string(got.Files[0].Partials[StreamStdout].Msg) != "half" || got.Files[0].End != 10 {
		t.Fatalf("reloaded partials %+v", got)
	}

	// A state file as this package wrote it before the store was shared.
	old := `{"version":1,"kv":{"knownFiles":"Y3Ax"},"partials":{"files":[{"path":"/r/b","end":4,` +
		`"partials":{"stderr":{"stream":"stderr","time":"1970-01-01T00:00:02Z","msg":"aGk=","ids":[9]}}}]}}`
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	s3, err := tailbase.OpenStore[assemblerState](path, "partials", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := s3.Get(context.Background(), "knownFiles"); string(v) != "cp1" {
		t.Fatalf("checkpoint %q", v)
	}
	if got := s3.Loaded(); len(got.Files) != 1 || string(got.Files[0].Partials[StreamStderr].Msg) != "hi" {
		t.Fatalf("partials from an earlier state file %+v", got)
	}
}
