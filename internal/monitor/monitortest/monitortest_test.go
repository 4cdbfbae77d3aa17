package monitortest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestScripts(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.montest")
	if len(files) < 4 {
		t.Fatalf("found %d scripts", len(files))
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".montest"), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			Run(t, string(src))
		})
	}
}

func TestFailingExpectationFails(t *testing.T) {
	src := "load 1m\n  x{a=\"1\"} 5x5\nmonitor\n  name: x\n  query: x\n  critical: 1\neval 2m\n  {a=\"1\"} ok\n"
	ft := &fakeT{TB: t}
	Run(ft, src)
	if !ft.failed {
		t.Fatal("a wrong expectation passed")
	}
}

type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Errorf(string, ...any) { f.failed = true }
func (f *fakeT) Fatalf(string, ...any) { f.failed = true }

func TestParseErrors(t *testing.T) {
	for _, bad := range []string{
		"", "load\n", "load 0s\n x 1\nmonitor\n  name: a\n  query: x\n  critical: 1\n",
		"bogus 1\n", "  indented\n", "gen 1s 100d\n  x{} sine\n", "gen 1m 1h\n  x{} wave\n",
		"gen 1m 1h\n  x{} sine bad=1\n", "monitor\n  nope: 1\n", "eval 1m\n  {a=\"1\"} sleeping\n",
		"eval 2m\neval 1m\n", "eval 1m\n  {a=\"1\"} crossing 1d 10%\n",
	} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"threshold", "forecast"} {
		b, _ := os.ReadFile("testdata/" + name + ".montest")
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, src string) {
		_, _ = Parse(src) // must not panic, hang or allocate without bound
	})
}
