package patterns_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"vigil/internal/patterns"
	"vigil/internal/patterns/loggen"
)

func mineAll(lines []string) (*patterns.Miner, []patterns.ID) {
	m := patterns.NewMiner(patterns.Options{})
	ids := make([]patterns.ID, len(lines))
	for i, l := range lines {
		ids[i] = m.Add(l)
	}
	for i := range ids {
		ids[i] = m.Resolve(ids[i])
	}
	return m, ids
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func check(t *testing.T, name string, lines []string, truth []int) {
	t.Helper()
	m, ids := mineAll(lines)
	acc := patterns.GroupingAccuracy(truth, ids)
	t.Logf("%s: %d lines, accuracy %.4f, %d templates", name, len(lines), acc, m.Len())
	if acc < 0.95 {
		for _, tp := range m.Templates() {
			t.Logf("  %6d %s", tp.Count, tp.Text())
		}
		t.Errorf("%s: grouping accuracy %.4f < 0.95", name, acc)
	}
}

// TestAccuracyCommittedSamples mines the committed labelled samples
// (testdata/<set>.log with one template index per line in <set>.labels).
func TestAccuracyCommittedSamples(t *testing.T) {
	for _, set := range loggen.Sets() {
		t.Run(set.Name, func(t *testing.T) {
			lines := readLines(t, filepath.Join("testdata", set.Name+".log"))
			var truth []int
			for _, s := range readLines(t, filepath.Join("testdata", set.Name+".labels")) {
				n, err := strconv.Atoi(s)
				if err != nil {
					t.Fatal(err)
				}
				truth = append(truth, n)
			}
			if len(lines) != len(truth) || len(lines) < 1000 {
				t.Fatalf("%d lines, %d labels", len(lines), len(truth))
			}
			check(t, set.Name, lines, truth)
		})
	}
}

// TestAccuracyGenerated mines larger generated sets from a fixed seed, and a
// mix of all formats at once (one miner for everything, as on the server).
func TestAccuracyGenerated(t *testing.T) {
	var mixLines []string
	var mixTruth []int
	for si, set := range loggen.Sets() {
		var lines []string
		var truth []int
		for _, l := range loggen.New(set, 7).Lines(20000) {
			lines = append(lines, l.Text)
			truth = append(truth, l.Template)
			if len(lines)%4 == 0 {
				mixLines = append(mixLines, l.Text)
				mixTruth = append(mixTruth, si*1000+l.Template)
			}
		}
		check(t, set.Name, lines, truth)
	}
	check(t, "all formats mixed", mixLines, mixTruth)
}

func TestGroupingAccuracy(t *testing.T) {
	truth := []int{1, 1, 2, 2, 3}
	if a := patterns.GroupingAccuracy(truth, []int{7, 7, 8, 8, 9}); a != 1 {
		t.Errorf("perfect grouping scored %v", a)
	}
	// Splitting group 1 makes both of its lines wrong; merging 2 and 3 makes all three wrong.
	if a := patterns.GroupingAccuracy(truth, []int{7, 6, 8, 8, 8}); a != 0 {
		t.Errorf("got %v, want 0", a)
	}
	if a := patterns.GroupingAccuracy(truth, []int{7, 7, 8, 8, 8}); a != 0.4 {
		t.Errorf("got %v, want 0.4", a)
	}
	if a := patterns.GroupingAccuracy(truth, []int{1}); a != 0 {
		t.Errorf("length mismatch scored %v", a)
	}
	_ = strings.TrimSpace
}
