package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"vigil/internal/patterns"
)

// TestPatternsAssignAccuracy runs `vigil patterns --assign` on every committed
// labelled sample and measures grouping accuracy from its output.
func TestPatternsAssignAccuracy(t *testing.T) {
	dir := filepath.Join("..", "..", "internal", "patterns", "testdata")
	logsFiles, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if len(logsFiles) < 6 {
		t.Fatalf("found %d labelled samples", len(logsFiles))
	}
	for _, path := range logsFiles {
		var out bytes.Buffer
		if err := runPatterns(&out, nil, []string{path}, true, patterns.Options{}); err != nil {
			t.Fatal(err)
		}
		labelsRaw, err := os.ReadFile(strings.TrimSuffix(path, ".log") + ".labels")
		if err != nil {
			t.Fatal(err)
		}
		labels := strings.Fields(string(labelsRaw))
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if len(lines) != len(labels) {
			t.Fatalf("%s: %d output lines for %d input lines", path, len(lines), len(labels))
		}
		ids := make([]int, len(lines))
		for i, l := range lines {
			id, tmpl, ok := strings.Cut(l, "\t")
			if !ok || tmpl == "" {
				t.Fatalf("bad --assign line %q", l)
			}
			if ids[i], err = strconv.Atoi(id); err != nil {
				t.Fatalf("bad id in %q", l)
			}
		}
		if acc := patterns.GroupingAccuracy(labels, ids); acc < 0.95 {
			t.Errorf("%s: accuracy %.3f", filepath.Base(path), acc)
		}
	}
}

func TestPatternsSummaryFromStdin(t *testing.T) {
	in := "Connected to 10.0.0.1 in 5ms\nConnected to 10.0.0.2 in 7ms\nDisk full\n\xff\xfe broken bytes 12\n" +
		strings.Repeat("x", 3<<20) + " 42\n" + "Connected to 10.0.0.3 in 1ms"
	var out bytes.Buffer
	if err := runPatterns(&out, strings.NewReader(in), nil, false, patterns.Options{}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if !utf8.ValidString(got) {
		t.Errorf("output is not valid UTF-8")
	}
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("got %d templates:\n%s", len(lines), got)
	}
	if lines[0] != "1\t3\tConnected to <*> in <*>" {
		t.Errorf("first template line %q", lines[0])
	}
	var out2 bytes.Buffer
	if err := runPatterns(&out2, nil, []string{"/nonexistent/file.log"}, false, patterns.Options{}); err == nil {
		t.Errorf("a missing file gave no error")
	}
}
