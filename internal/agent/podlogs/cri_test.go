package podlogs

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"vigil/internal/agent/podlogs/tailbase"
)

func TestParseCRI(t *testing.T) {
	ts := time.Date(2026, 11, 26, 12, 0, 0, 123456789, time.UTC)
	tests := []struct {
		in      string
		stream  string
		partial bool
		msg     string
		time    time.Time
	}{
		{"2026-11-26T12:00:00.123456789Z stdout F hello world", StreamStdout, false, "hello world", ts},
		{"2026-11-26T12:00:00.123456789Z stderr P part", StreamStderr, true, "part", ts},
		{"2026-11-26T12:00:00.123456789Z stdout F ", StreamStdout, false, "", ts},
		{"2026-11-26T12:00:00.123456789Z stdout F", StreamStdout, false, "", ts},
		{"2026-11-26T12:00:00.123456789Z stdout F  two  spaces ", StreamStdout, false, " two  spaces ", ts},
		{"2026-11-26T12:00:00.123456789Z stdout F crlf\r", StreamStdout, false, "crlf", ts},
		{"2026-11-26T12:00:00.123456789Z stdout F:x tagged", StreamStdout, false, "tagged", ts},
		{"2026-11-26T13:00:00.5+01:00 stdout F offset", StreamStdout, false, "offset", time.Date(2026, 11, 26, 12, 0, 0, 500000000, time.UTC)},
		{"2026-11-26T12:00:00Z stdout F no fraction", StreamStdout, false, "no fraction", time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		got, err := ParseCRI([]byte(tc.in))
		if err != nil {
			t.Errorf("ParseCRI(%q): %v", tc.in, err)
			continue
		}
		if got.Stream != tc.stream || got.Partial != tc.partial || string(got.Message) != tc.msg || !got.Time.Equal(tc.time) {
			t.Errorf("ParseCRI(%q) = %+v (msg %q)", tc.in, got, got.Message)
		}
	}
}

func TestParseCRIMalformed(t *testing.T) {
	for _, in := range []string{
		"",
		"plain text from somewhere",
		"2026-11-26T12:00:00Z",
		"2026-11-26T12:00:00Z stdout",
		"2026-11-26T12:00:00Z stdin F x",
		"2026-11-26T12:00:00Z stdout X x",
		"2026-11-26T12:00:00Z stdout  x",
		"yesterday stdout F x",
		"{\"log\":\"docker json\",\"stream\":\"stdout\"}",
	} {
		if _, err := ParseCRI([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseCRI(%q) error = %v, want ErrMalformed", in, err)
		}
	}
}

func TestParsePodLogPath(t *testing.T) {
	root := "/var/log/pods"
	ref := parsePodLogPath(root, "/var/log/pods/kube-system_coredns-5d78c9869d-abcde_0b1c2d3e-aaaa-bbbb-cccc-123456789012/coredns/3.log")
	want := podRef{Namespace: "kube-system", Pod: "coredns-5d78c9869d-abcde", UID: "0b1c2d3e-aaaa-bbbb-cccc-123456789012",
		Container: "coredns", Restart: 3, HasRestart: true, OK: true}
	if ref != want {
		t.Fatalf("got %+v", ref)
	}
	ref = parsePodLogPath(root, "/var/log/pods/ns_pod_uid/c/0.log.20261126-120000")
	if !ref.OK || ref.Restart != 0 || !ref.HasRestart || ref.Container != "c" {
		t.Fatalf("rotated: %+v", ref)
	}
	// More than three fields cannot come from the kubelet, but the UID is
	// still last and the namespace first.
	ref = parsePodLogPath(root, "/var/log/pods/ns_we_ird_uid/c/0.log")
	if ref.Namespace != "ns" || ref.Pod != "we_ird" || ref.UID != "uid" {
		t.Fatalf("extra fields: %+v", ref)
	}
	for _, p := range []string{
		"/var/log/pods/nounderscore/c/0.log",
		"/var/log/pods/ns_pod/c/0.log",
		"/var/log/pods/ns_pod_uid/0.log",
		"/elsewhere/ns_pod_uid/c/0.log",
		"/var/log/pods/_pod_uid/c/0.log",
	} {
		if ref := parsePodLogPath(root, p); ref.OK {
			t.Errorf("%s parsed as %+v", p, ref)
		}
	}
	if ref := parsePodLogPath(root, "/var/log/pods/ns_pod_uid/c/app.log"); !ref.OK || ref.HasRestart {
		t.Errorf("non-numeric name: %+v", ref)
	}
}

func TestRotatedBase(t *testing.T) {
	if b, ok := rotatedBase("/r/ns_p_u/c/0.log.20261126-120000"); !ok || b != "/r/ns_p_u/c/0.log" {
		t.Fatalf("got %q %v", b, ok)
	}
	if _, ok := rotatedBase("/r/ns_p_u/c/0.log"); ok {
		t.Fatal("live file reported as rotated")
	}
}

// assemble runs lines of one file through an assembler and drains it.
func assemble(t *testing.T, maxMsg int, lines ...string) []record {
	t.Helper()
	a := newAssembler("/r", maxMsg)
	path := "/r/ns_pod_uid/c/0.log"
	ref := parsePodLogPath("/r", path)
	var out []record
	emit := func(r record) { out = append(out, r) }
	var off int64
	fs := a.begin(path, off, false)
	for i, l := range lines {
		fs = a.addLine(fs, path, ref, []byte(l), uint64(i+1), time.Now(), emit)
		off += int64(len(l) + 1)
	}
	a.end(fs, off)
	a.flushStale(time.Time{}, time.Now(), emit)
	if len(a.pending) != 0 || len(a.files) != 0 {
		t.Fatalf("assembler not drained: %d pending, %d files", len(a.pending), len(a.files))
	}
	return out
}

func TestAssemblerJoinsPartials(t *testing.T) {
	recs := assemble(t, 1<<20,
		"2026-11-26T12:00:00.1Z stdout P hel",
		"2026-11-26T12:00:00.2Z stderr F interleaved",
		"2026-11-26T12:00:00.3Z stdout P lo ",
		"2026-11-26T12:00:00.4Z stdout F world",
		"2026-11-26T12:00:00.5Z stdout F next",
	)
	if len(recs) != 3 {
		t.Fatalf("got %d records", len(recs))
	}
	if string(recs[0].body) != "interleaved" || recs[0].stream != StreamStderr {
		t.Fatalf("rec0 %+v", recs[0])
	}
	if string(recs[1].body) != "hello world" || recs[1].stream != StreamStdout {
		t.Fatalf("rec1 %q", recs[1].body)
	}
	// The message time is when it started.
	if want := time.Date(2026, 11, 26, 12, 0, 0, 100000000, time.UTC); !recs[1].time.Equal(want) {
		t.Fatalf("joined time %v", recs[1].time)
	}
	if got := recs[1].ids; len(got) != 3 || got[0] != 1 || got[1] != 3 || got[2] != 4 {
		t.Fatalf("joined ids %v", got)
	}
	if string(recs[2].body) != "next" {
		t.Fatalf("rec2 %q", recs[2].body)
	}
}

func TestAssemblerBoundsHugeMessages(t *testing.T) {
	const maxMsg = 100
	chunk := strings.Repeat("x", 70)
	var lines []string
	for range 9 {
		lines = append(lines, "2026-11-26T12:00:00Z stdout P "+chunk)
	}
	lines = append(lines, "2026-11-26T12:00:00Z stdout F end")
	recs := assemble(t, maxMsg, lines...)

	var joined strings.Builder
	for i, r := range recs {
		if len(r.body) > maxMsg {
			t.Fatalf("record %d has %d bytes", i, len(r.body))
		}
		last := i == len(recs)-1
		if r.truncated == last {
			t.Fatalf("record %d truncated=%v", i, r.truncated)
		}
		if r.continuation != (i > 0) {
			t.Fatalf("record %d continuation=%v", i, r.continuation)
		}
		joined.Write(r.body)
	}
	if want := strings.Repeat(chunk, 9) + "end"; joined.String() != want {
		t.Fatalf("content changed: %d bytes, want %d", joined.Len(), len(want))
	}
	// Every line id is delivered exactly once across the records.
	seen := map[uint64]int{}
	for _, r := range recs {
		for _, id := range r.ids {
			seen[id]++
		}
	}
	if len(seen) != len(lines) {
		t.Fatalf("ids %v", seen)
	}
}

func TestAssemblerHugeSingleLineAndRuneBoundaries(t *testing.T) {
	const maxMsg = 64
	msg := strings.Repeat("ж", 100) // 2 bytes each: cuts must not split runes
	recs := assemble(t, maxMsg, "2026-11-26T12:00:00Z stdout F "+msg)
	var joined strings.Builder
	for _, r := range recs {
		if len(r.body) > maxMsg || !utf8.Valid(r.body) {
			t.Fatalf("bad chunk %q", r.body)
		}
		joined.Write(r.body)
	}
	if joined.String() != msg {
		t.Fatal("content changed")
	}
}

func TestAssemblerMalformedAndInvalidUTF8(t *testing.T) {
	recs := assemble(t, 1<<20,
		"not a cri line \xff\xfe",
		"2026-11-26T12:00:00Z stdout F bad \xc3\x28 utf8",
		"",
	)
	if len(recs) != 3 {
		t.Fatalf("got %d records", len(recs))
	}
	if !recs[0].malformed || string(recs[0].body) != "not a cri line \xff\xfe" || !recs[0].time.IsZero() {
		t.Fatalf("malformed record %+v", recs[0])
	}
	if got := tailbase.ValidText(recs[0].body); got != "not a cri line \uFFFD" || !utf8.ValidString(got) {
		t.Fatalf("sanitized %q", got)
	}
	if got := tailbase.ValidText(recs[1].body); got != "bad \uFFFD( utf8" {
		t.Fatalf("sanitized %q", got)
	}
	if !recs[2].malformed || len(recs[2].body) != 0 {
		t.Fatalf("empty line %+v", recs[2])
	}
}

func TestAssemblerDanglingPartialFlushedAsPartial(t *testing.T) {
	a := newAssembler("/r", 1<<20)
	path := "/r/ns_pod_uid/c/0.log"
	ref := parsePodLogPath("/r", path)
	var out []record
	emit := func(r record) { out = append(out, r) }
	start := time.Now()
	fs := a.begin(path, 0, false)
	fs = a.addLine(fs, path, ref, []byte("2026-11-26T12:00:00Z stdout P dangling"), 7, start, emit)
	a.end(fs, 40)
	a.flushStale(start.Add(-time.Second), start, emit)
	if len(out) != 0 {
		t.Fatal("flushed before the timeout")
	}
	if !a.isPending(7) {
		t.Fatal("line of a partial not pending")
	}
	a.flushStale(start.Add(time.Second), start, emit)
	if len(out) != 1 || !out[0].partial || string(out[0].body) != "dangling" || a.isPending(7) {
		t.Fatalf("got %+v", out)
	}
}

func TestAssemblerRotationAdoptsPartial(t *testing.T) {
	a := newAssembler("/r", 1<<20)
	live := "/r/ns_pod_uid/c/0.log"
	rotated := live + ".20261126-120000"
	ref := parsePodLogPath("/r", live)
	var out []record
	emit := func(r record) { out = append(out, r) }
	now := time.Now()

	p := []byte("2026-11-26T12:00:00Z stdout P first half ")
	fs := a.begin(live, 0, false)
	fs = a.addLine(fs, live, ref, p, 1, now, emit)
	a.end(fs, int64(len(p)+1))

	// The new live file is read first, from offset 0: it must not be
	// joined to the old file's partial.
	n := []byte("2026-11-26T12:00:01Z stdout F new file")
	fs = a.begin(live, 0, false)
	fs = a.addLine(fs, live, ref, n, 2, now, emit)
	a.end(fs, int64(len(n)+1))

	// The renamed old file continues where the live name left off.
	f := []byte("2026-11-26T12:00:00Z stdout F second half")
	fs = a.begin(rotated, int64(len(p)+1), false)
	fs = a.addLine(fs, rotated, ref, f, 3, now, emit)
	a.end(fs, int64(len(p)+len(f)+2))

	if len(out) != 2 || string(out[0].body) != "new file" || string(out[1].body) != "first half second half" {
		t.Fatalf("got %q / %+v", out[1].body, out)
	}
	if out[1].path != rotated {
		t.Fatalf("path %s", out[1].path)
	}
}

func TestAssemblerSnapshotRestore(t *testing.T) {
	a := newAssembler("/r", 1<<20)
	path := "/r/ns_pod_uid/c/0.log"
	ref := parsePodLogPath("/r", path)
	var out []record
	emit := func(r record) { out = append(out, r) }
	fs := a.begin(path, 0, false)
	fs = a.addLine(fs, path, ref, []byte("2026-11-26T12:00:00Z stdout P a"), 1, time.Now(), emit)
	fs = a.addLine(fs, path, ref, []byte("2026-11-26T12:00:00Z stderr P b"), 2, time.Now(), emit)
	a.end(fs, 64)
	st := a.snapshot()

	// Line 2's message was delivered after the snapshot: only stdout survives.
	b := newAssembler("/r", 1<<20)
	b.restore(st, func(id uint64) bool { return id == 2 }, time.Now())
	if !b.isPending(1) || b.isPending(2) {
		t.Fatalf("pending %v", b.pending)
	}
	fs = b.begin(path, 64, false)
	fs = b.addLine(fs, path, ref, []byte("2026-11-26T12:00:00Z stdout F c"), 3, time.Now(), emit)
	b.end(fs, 96)
	if len(out) != 1 || string(out[0].body) != "ac" {
		t.Fatalf("got %+v", out)
	}
}

// FuzzParseCRI checks that parsing never panics, that accepted lines are
// consistent, and that the assembler neither loses nor invents message bytes
// whatever the input.
func FuzzParseCRI(f *testing.F) {
	f.Add([]byte("2026-11-26T12:00:00.123456789Z stdout F hello"))
	f.Add([]byte("2026-11-26T12:00:00Z stderr P part\n2026-11-26T12:00:00Z stderr F rest"))
	f.Add([]byte("garbage \xff\xfe\n\n2026-11-26T12:00:00Z stdout F"))
	f.Fuzz(func(t *testing.T, data []byte) {
		line, err := ParseCRI(data)
		if err == nil {
			if line.Stream != StreamStdout && line.Stream != StreamStderr {
				t.Fatalf("stream %q", line.Stream)
			}
			if !bytes.Contains(data, line.Message) {
				t.Fatal("message is not part of the input")
			}
		} else if !errors.Is(err, ErrMalformed) {
			t.Fatalf("unexpected error type %v", err)
		}

		const maxMsg = 64
		a := newAssembler("/r", maxMsg)
		path := "/r/ns_pod_uid/c/0.log"
		ref := parsePodLogPath("/r", path)
		var want, got int
		check := func(r record) {
			if len(r.body) > maxMsg {
				t.Fatalf("record of %d bytes", len(r.body))
			}
			if s := tailbase.ValidText(r.body); !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 after sanitizing: %q", s)
			}
			got += len(r.body)
		}
		var fs *fileState
		for i, l := range bytes.Split(data, []byte{'\n'}) {
			if c, err := ParseCRI(l); err == nil {
				want += len(c.Message)
			} else {
				want += len(l)
			}
			fs = a.addLine(fs, path, ref, l, uint64(i), time.Now(), check)
		}
		a.end(fs, int64(len(data)))
		a.flushStale(time.Time{}, time.Now(), check)
		if got != want {
			t.Fatalf("assembled %d message bytes, input had %d", got, want)
		}
	})
}
