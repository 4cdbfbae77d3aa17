package podlogs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

// podLog writes one container log file the way the runtime does: whole CRI
// lines, one write each, to a file opened for appending.
type podLog struct {
	t                       testing.TB
	ns, pod, uid, container string
	restart                 int
	path                    string
	f                       *os.File
	seq                     int
	rotations               int
}

func newPodLog(t testing.TB, root, ns, pod, uid, container string, restart int) *podLog {
	t.Helper()
	dir := filepath.Join(root, ns+"_"+pod+"_"+uid, container)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := &podLog{t: t, ns: ns, pod: pod, uid: uid, container: container, restart: restart,
		path: filepath.Join(dir, fmt.Sprintf("%d.log", restart))}
	p.open()
	return p
}

func (p *podLog) open() {
	f, err := os.OpenFile(p.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	p.f = f
}

func (p *podLog) close() { _ = p.f.Close() }

// line writes one raw CRI line and returns its timestamp.
func (p *podLog) line(stream, tag, msg string) time.Time {
	ts := time.Now().UTC()
	if _, err := fmt.Fprintf(p.f, "%s %s %s %s\n", ts.Format(time.RFC3339Nano), stream, tag, msg); err != nil {
		p.t.Fatal(err)
	}
	return ts
}

func (p *podLog) rotatedName() string {
	p.rotations++
	return fmt.Sprintf("%s.20261126-1200%02d", p.path, p.rotations)
}

// rotateRename does what the kubelet does: rename the live file, let the
// runtime keep writing to it until it reopens, then start a new file.
func (p *podLog) rotateRename(beforeReopen func()) {
	if err := os.Rename(p.path, p.rotatedName()); err != nil {
		p.t.Fatal(err)
	}
	if beforeReopen != nil {
		beforeReopen()
	}
	p.close()
	p.open()
}

// rotateCopyTruncate copies the live file aside and truncates it in place,
// as logrotate's copytruncate does; the writer keeps its append handle.
func (p *podLog) rotateCopyTruncate() {
	data, err := os.ReadFile(p.path)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(p.rotatedName(), data, 0o644); err != nil {
		p.t.Fatal(err)
	}
	if err := os.Truncate(p.path, 0); err != nil {
		p.t.Fatal(err)
	}
}

// expected is what the server must receive for one message.
type expected struct {
	log     *podLog
	stream  string
	time    time.Time
	partial bool
}

type expectations struct {
	mu sync.Mutex
	m  map[string]expected
}

func newExpectations() *expectations { return &expectations{m: make(map[string]expected)} }

// write writes a message (as partial lines when parts > 1) and records it.
func (e *expectations) write(p *podLog, stream string, parts int) {
	p.seq++
	msg := fmt.Sprintf("%s/%s #%05d payload-%s", p.pod, p.container, p.seq, strings.Repeat("z", p.seq%37))
	var first time.Time
	if parts <= 1 {
		first = p.line(stream, "F", msg)
	} else {
		step := (len(msg) + parts - 1) / parts
		for i := 0; i < len(msg); i += step {
			tag := "P"
			if i+step >= len(msg) {
				tag = "F"
			}
			ts := p.line(stream, tag, msg[i:min(i+step, len(msg))])
			if i == 0 {
				first = ts
			}
		}
	}
	e.mu.Lock()
	e.m[msg] = expected{log: p, stream: stream, time: first, partial: parts > 1}
	e.mu.Unlock()
}

func (e *expectations) len() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.m)
}

type gotRecord struct {
	body     string
	res      map[string]any
	attrs    map[string]any
	time     time.Time
	observed time.Time
	batch    int
}

func decodePayload(t testing.TB, payload []byte) []gotRecord {
	t.Helper()
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(payload); err != nil {
		t.Errorf("payload is not an OTLP logs export request: %v", err)
		return nil
	}
	var out []gotRecord
	rls := req.Logs().ResourceLogs()
	for i := range rls.Len() {
		rl := rls.At(i)
		res := rl.Resource().Attributes().AsRaw()
		for j := range rl.ScopeLogs().Len() {
			lrs := rl.ScopeLogs().At(j).LogRecords()
			for k := range lrs.Len() {
				lr := lrs.At(k)
				out = append(out, gotRecord{
					body:     lr.Body().AsString(),
					res:      res,
					attrs:    lr.Attributes().AsRaw(),
					time:     lr.Timestamp().AsTime(),
					observed: lr.ObservedTimestamp().AsTime(),
				})
			}
		}
	}
	return out
}

// memSink decodes payloads as a server would; it can fail the first calls.
type memSink struct {
	t        testing.TB
	mu       sync.Mutex
	recs     []gotRecord
	failNext int
	calls    int
}

func (m *memSink) sink(_ context.Context, payload []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.failNext > 0 {
		m.failNext--
		return errors.New("disk full (test)")
	}
	m.recs = append(m.recs, decodePayload(m.t, payload)...)
	return nil
}

func (m *memSink) records() []gotRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]gotRecord(nil), m.recs...)
}

type fakeEnricher map[string]Meta

func (f fakeEnricher) Lookup(uid string) (Meta, bool) {
	m, ok := f[uid]
	return m, ok
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func startTailer(t *testing.T, cfg Config, sink Sink) (stop func()) {
	t.Helper()
	tl, err := New(cfg, sink, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tl.Run(ctx) }()
	return func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
	}
}

func waitForRecords(t *testing.T, what string, get func() []gotRecord, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(get()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s: got %d records, want %d", what, len(get()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// verify asserts every expected message arrived exactly once with its
// metadata, and nothing else arrived.
func verify(t *testing.T, exp *expectations, recs []gotRecord, node string, enricher fakeEnricher) {
	t.Helper()
	exp.mu.Lock()
	defer exp.mu.Unlock()
	count := make(map[string]int)
	for _, r := range recs {
		count[r.body]++
		e, ok := exp.m[r.body]
		if !ok {
			t.Errorf("unexpected record %q attrs %v", r.body, r.attrs)
			continue
		}
		if count[r.body] > 1 {
			continue
		}
		p := e.log
		want := map[string]any{
			AttrNamespace: p.ns, AttrPodName: p.pod, AttrPodUID: p.uid, AttrContainer: p.container,
			AttrRestartCount: int64(p.restart), AttrNodeName: node,
		}
		if m, ok := enricher[p.uid]; ok {
			want[AttrWorkload] = m.Workload
			for k, v := range m.Labels {
				want[AttrPodLabel+k] = v
			}
		}
		if fmt.Sprint(r.res) != fmt.Sprint(want) {
			t.Errorf("%q resource %v, want %v", r.body, r.res, want)
		}
		if r.attrs[AttrIOStream] != e.stream {
			t.Errorf("%q stream %v, want %s", r.body, r.attrs[AttrIOStream], e.stream)
		}
		path, _ := r.attrs[AttrFilePath].(string)
		if !strings.HasPrefix(path, p.path) {
			t.Errorf("%q file path %q, want %s[.*]", r.body, path, p.path)
		}
		for _, flag := range []string{AttrMalformed, AttrTruncated, AttrPartial, AttrContinuation} {
			if _, ok := r.attrs[flag]; ok {
				t.Errorf("%q unexpectedly has %s", r.body, flag)
			}
		}
		if !r.time.Equal(e.time) {
			t.Errorf("%q time %v, want %v", r.body, r.time, e.time)
		}
		if r.observed.Before(e.time) {
			t.Errorf("%q observed %v before written %v", r.body, r.observed, e.time)
		}
	}
	for msg := range exp.m {
		switch c := count[msg]; {
		case c == 0:
			t.Errorf("lost: %q", msg)
		case c > 1:
			t.Errorf("duplicated %d times: %q", c, msg)
		}
	}
}

func TestTailerExactlyOnceThroughRotationAndRestart(t *testing.T) {
	root := filepath.Join(t.TempDir(), "pods")
	state := t.TempDir()
	enricher := fakeEnricher{"uid-a": {Workload: "web", Labels: map[string]string{"app": "web", "tier": "front"}}}
	cfg := Config{Root: root, StateDir: state, NodeName: "node-1", Enricher: enricher, PollInterval: 20 * time.Millisecond}
	a := newPodLog(t, root, "default", "web-1", "uid-a", "app", 0)
	b := newPodLog(t, root, "kube-system", "dns", "uid-b", "coredns", 2)
	defer a.close()
	defer b.close()
	exp := newExpectations()
	sink := &memSink{t: t}

	// Lines written before the first start are read from the beginning.
	for i := range 30 {
		exp.write(a, []string{StreamStdout, StreamStderr}[i%2], 1)
	}
	stop := startTailer(t, cfg, sink.sink)

	t.Log("plain appends with partial lines")
	for i := range 100 {
		exp.write(a, StreamStdout, 1+i%4)
		exp.write(b, StreamStderr, 1)
	}
	waitForRecords(t, "appends", sink.records, exp.len())

	t.Log("rename rotation, with lines written to the renamed file before reopen")
	a.rotateRename(func() {
		for range 5 {
			exp.write(a, StreamStdout, 2)
		}
	})
	for range 50 {
		exp.write(a, StreamStdout, 1)
	}
	t.Log("copytruncate rotation")
	for range 20 {
		exp.write(b, StreamStdout, 1)
	}
	b.rotateCopyTruncate()
	for range 50 {
		exp.write(b, StreamStdout, 3)
	}
	waitForRecords(t, "rotations", sink.records, exp.len())

	t.Log("graceful restart, with writes and a rotation while stopped")
	stop()
	for range 30 {
		exp.write(a, StreamStderr, 1)
	}
	a.rotateRename(nil)
	for range 30 {
		exp.write(a, StreamStdout, 1)
		exp.write(b, StreamStdout, 2)
	}
	sink.mu.Lock()
	sink.failNext = 3 // the sink refuses a few times: retried, not lost
	sink.mu.Unlock()
	stop = startTailer(t, cfg, sink.sink)
	defer func() { stop() }()
	waitForRecords(t, "after restart", sink.records, exp.len())

	// Give duplicates a chance to show up before judging.
	time.Sleep(300 * time.Millisecond)
	verify(t, exp, sink.records(), "node-1", enricher)
}

func TestTailerShipsMalformedAndOversizedLines(t *testing.T) {
	root := filepath.Join(t.TempDir(), "pods")
	a := newPodLog(t, root, "ns", "pod", "uid", "c", 0)
	defer a.close()
	sink := &memSink{t: t}
	cfg := Config{Root: root, StateDir: t.TempDir(), PollInterval: 20 * time.Millisecond,
		MaxMessageBytes: 1000, PartialTimeout: 200 * time.Millisecond}
	stop := startTailer(t, cfg, sink.sink)
	defer stop()

	if _, err := a.f.WriteString("this is not CRI \xff\n"); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("0123456789", 250) // 2500 bytes → 3 records
	a.line(StreamStdout, "P", big[:1200])
	a.line(StreamStdout, "F", big[1200:])
	a.line(StreamStderr, "P", "never finished")

	waitForRecords(t, "records", sink.records, 5)
	recs := sink.records()
	if len(recs) != 5 {
		t.Fatalf("got %d records", len(recs))
	}
	if recs[0].body != "this is not CRI \uFFFD" || recs[0].attrs[AttrMalformed] != true || recs[0].time.Unix() != 0 {
		t.Fatalf("malformed: %+v", recs[0])
	}
	var joined string
	for i, r := range recs[1:4] {
		if len(r.body) > 1000 {
			t.Fatalf("chunk %d has %d bytes", i, len(r.body))
		}
		if (r.attrs[AttrTruncated] == true) != (i < 2) || (r.attrs[AttrContinuation] == true) != (i > 0) {
			t.Fatalf("chunk %d attrs %v", i, r.attrs)
		}
		joined += r.body
	}
	if joined != big {
		t.Fatal("oversized message content changed")
	}
	if recs[4].body != "never finished" || recs[4].attrs[AttrPartial] != true || recs[4].attrs[AttrIOStream] != StreamStderr {
		t.Fatalf("dangling partial: %+v", recs[4])
	}
}
