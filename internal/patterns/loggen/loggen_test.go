package loggen

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the committed samples in ../testdata")

// Sample renders n lines of set from seed as the committed files hold them:
// the log text, and one template index per line.
func sample(set *Set, seed uint64, n int) (text, labels []byte) {
	var t, l bytes.Buffer
	for _, line := range New(set, seed).Lines(n) {
		t.WriteString(line.Text + "\n")
		fmt.Fprintf(&l, "%d\n", line.Template)
	}
	return t.Bytes(), l.Bytes()
}

// TestCommittedSamples keeps testdata/<set>.log and .labels equal to what the
// generators produce (go test -update rewrites them).
func TestCommittedSamples(t *testing.T) {
	dir := filepath.Join("..", "testdata")
	for _, set := range Sets() {
		text, labels := sample(set, 42, 2000)
		if strings.Count(string(text), "\n") != 2000 {
			t.Fatalf("%s: a generated line contains a newline", set.Name)
		}
		logPath, labelPath := filepath.Join(dir, set.Name+".log"), filepath.Join(dir, set.Name+".labels")
		if *update {
			if err := os.WriteFile(logPath, text, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(labelPath, labels, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		gotText, err := os.ReadFile(logPath)
		if err != nil {
			t.Fatal(err)
		}
		gotLabels, err := os.ReadFile(labelPath)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(gotText, text) || !bytes.Equal(gotLabels, labels) {
			t.Errorf("%s: committed sample differs from the generator (run go test -update ./internal/patterns/loggen/)", set.Name)
		}
	}
}

func TestEveryTemplateDrawn(t *testing.T) {
	for _, set := range Sets() {
		seen := map[int]bool{}
		for _, l := range New(set, 1).Lines(5000) {
			seen[l.Template] = true
		}
		if len(seen) != len(set.Templates) {
			t.Errorf("%s: %d of %d templates drawn", set.Name, len(seen), len(set.Templates))
		}
	}
}
