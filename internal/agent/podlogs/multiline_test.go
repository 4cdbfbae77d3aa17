package podlogs

import (
	"strings"
	"testing"
)

func lines(path, stream string, ls ...string) []record {
	var out []record
	for i, l := range ls {
		out = append(out, record{path: path, stream: stream, body: []byte(l), ids: []uint64{uint64(len(path)*1000 + i)}})
	}
	return out
}

func bodies(rs []record) []string {
	var out []string
	for _, r := range rs {
		out = append(out, string(r.body))
	}
	return out
}

func TestJoinTraces(t *testing.T) {
	java := []string{
		"2026-11-26 10:00:00 ERROR [main] request failed",
		"java.lang.IllegalStateException: boom",
		"\tat com.example.Foo.bar(Foo.java:10)",
		"\tat com.example.Main.main(Main.java:5)",
		"Caused by: java.io.IOException: disk",
		"\t... 2 more",
		"2026-11-26 10:00:01 INFO next",
	}
	python := []string{
		"Traceback (most recent call last):",
		`  File "app.py", line 3, in <module>`,
		"    main()",
		"ValueError: bad value",
		"INFO after",
	}
	goPanic := []string{
		"panic: runtime error: index out of range [5] with length 3",
		"",
		"goroutine 1 [running]:",
		"main.main()",
		"\t/app/main.go:8 +0x1d",
		"exit status 2",
		"listening on :8080",
	}
	var recs []record
	recs = append(recs, lines("a", "stderr", java...)...)
	recs = append(recs, lines("b", "stderr", python...)...)
	// Another file's lines in between must not break the Go trace.
	g := lines("c", "stderr", goPanic...)
	recs = append(recs, g[:3]...)
	recs = append(recs, lines("d", "stdout", "unrelated")...)
	recs = append(recs, g[3:]...)
	nIDs := 0
	for _, r := range recs {
		nIDs += len(r.ids)
	}
	out := joinTraces(recs, 1<<20)
	got := bodies(out)
	want := []string{
		java[0],
		strings.Join(java[1:6], "\n"),
		java[6],
		strings.Join(python[:4], "\n"),
		python[4],
		strings.Join(goPanic[:6], "\n"),
		"unrelated",
		goPanic[6],
	}
	// Order: the Go trace's record stays where it started.
	want = []string{want[0], want[1], want[2], want[3], want[4], want[5], want[6], want[7]}
	if len(got) != len(want) {
		t.Fatalf("got %d records:\n%q", len(got), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("record %d = %q, want %q", i, got[i], want[i])
		}
	}
	after := 0
	for _, r := range out {
		after += len(r.ids)
	}
	if after != nIDs {
		t.Errorf("line ids: %d before, %d after", nIDs, after)
	}
	// The size bound wins over joining.
	small := joinTraces(lines("a", "stderr", java[1:4]...), 50)
	if len(small) < 2 {
		t.Errorf("bounded join produced %d records", len(small))
	}
}

func FuzzJoinTraces(f *testing.F) {
	f.Add("java.lang.X: y\n\tat a.b(C.java:1)\nnext", 100)
	f.Add("Traceback (most recent call last):\n  File \"x\"\nE: y\nz", 1000)
	f.Add("panic: x\n\ngoroutine 1 [running]:\nmain.main()\n\t/x.go:1\nok", 10)
	f.Fuzz(func(t *testing.T, text string, maxMsg int) {
		if maxMsg < minMessage || maxMsg > 1<<20 {
			maxMsg = minMessage
		}
		in := lines("p", "stdout", strings.Split(text, "\n")...)
		var total int
		for _, r := range in {
			total += len(r.body)
		}
		n := len(in)
		out := joinTraces(in, maxMsg)
		ids, size := 0, 0
		for _, r := range out {
			ids += len(r.ids)
			size += len(r.body)
			if len(r.body) > maxMsg && len(r.ids) > 1 {
				t.Fatalf("joined record of %d bytes over the %d bound", len(r.body), maxMsg)
			}
		}
		if ids != n || size != total+(n-len(out)) {
			t.Fatalf("ids %d/%d, bytes %d/%d", ids, n, size, total+(n-len(out)))
		}
	})
}
