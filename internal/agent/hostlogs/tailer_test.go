package hostlogs

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

// logFile writes a host log the way daemons do: whole lines, one write
// each, to a file opened for appending.
type logFile struct {
	t    testing.TB
	path string
	f    *os.File
}

func newLogFile(t testing.TB, path string) *logFile {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	l := &logFile{t: t, path: path}
	l.open()
	return l
}

func (l *logFile) open() {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		l.t.Fatal(err)
	}
	l.f = f
}

func (l *logFile) close() { _ = l.f.Close() }

func (l *logFile) write(s string) {
	if _, err := l.f.WriteString(s); err != nil {
		l.t.Fatal(err)
	}
}

// rotateRename renames the live file, lets the writer keep writing to it
// until it reopens, then starts a new file, as logrotate's create mode with
// a postrotate reload does.
func (l *logFile) rotateRename(to string, beforeReopen func()) {
	if err := os.Rename(l.path, to); err != nil {
		l.t.Fatal(err)
	}
	if beforeReopen != nil {
		beforeReopen()
	}
	l.close()
	l.open()
}

// rotateCopyTruncate copies the live file aside and truncates it in place;
// the writer keeps its append handle.
func (l *logFile) rotateCopyTruncate(to string) {
	data, err := os.ReadFile(l.path)
	if err != nil {
		l.t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		l.t.Fatal(err)
	}
	if err := os.Truncate(l.path, 0); err != nil {
		l.t.Fatal(err)
	}
}

// expectations counts how often each line must arrive; plain-text logs
// repeat lines, and each repetition must arrive.
type expectations struct {
	mu   sync.Mutex
	m    map[string]int
	live map[string]string // body → live path of the file it was written to
	n    int
}

func newExpectations() *expectations {
	return &expectations{m: make(map[string]int), live: make(map[string]string)}
}

func (e *expectations) line(l *logFile, body string) {
	l.write(body + "\n")
	e.mu.Lock()
	e.m[body]++
	e.live[body] = l.path
	e.n++
	e.mu.Unlock()
}

func (e *expectations) len() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n
}

type gotRecord struct {
	body     string
	res      map[string]any
	attrs    map[string]any
	time     time.Time
	observed time.Time
	severity string
	batch    int
}

func decodePayload(t testing.TB, payload []byte) []gotRecord {
	t.Helper()
	recs, err := decodeRecords(payload)
	if err != nil {
		t.Error(err)
	}
	return recs
}

func decodeRecords(payload []byte) ([]gotRecord, error) {
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(payload); err != nil {
		return nil, fmt.Errorf("payload is not an OTLP logs export request: %w", err)
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
					severity: lr.SeverityText(),
				})
			}
		}
	}
	return out, nil
}

// memSink decodes payloads as the server would and commits them; it can
// refuse the first calls.
type memSink struct {
	t        testing.TB
	mu       sync.Mutex
	recs     []gotRecord
	failNext int
}

func (m *memSink) sink(_ context.Context, payload []byte, committed func()) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failNext > 0 {
		m.failNext--
		return errors.New("queue full (test)")
	}
	m.recs = append(m.recs, decodePayload(m.t, payload)...)
	committed()
	return nil
}

func (m *memSink) records() []gotRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]gotRecord(nil), m.recs...)
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func startTailer(t *testing.T, cfg Config, logger *slog.Logger) (tl *Tailer, stop func()) {
	t.Helper()
	if logger == nil {
		logger = quietLogger()
	}
	tl, err := New(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tl.Run(ctx) }()
	return tl, func() {
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

// verify asserts every expected line arrived as often as it was written,
// with its metadata, and nothing else arrived.
func verify(t *testing.T, exp *expectations, recs []gotRecord, node string) {
	t.Helper()
	exp.mu.Lock()
	defer exp.mu.Unlock()
	count := make(map[string]int)
	wantRes := fmt.Sprint(map[string]any{})
	if node != "" {
		wantRes = fmt.Sprint(map[string]any{AttrNodeName: node, AttrHostName: node})
	}
	for _, r := range recs {
		count[r.body]++
		live, ok := exp.live[r.body]
		if !ok {
			t.Errorf("unexpected record %q attrs %v", r.body, r.attrs)
			continue
		}
		if fmt.Sprint(r.res) != wantRes {
			t.Errorf("%q resource %v, want %s", r.body, r.res, wantRes)
		}
		path, _ := r.attrs[AttrFilePath].(string)
		if !strings.HasPrefix(path, live) {
			t.Errorf("%q file path %q, want %s[.*]", r.body, path, live)
		}
		if r.attrs[AttrFileName] != filepath.Base(path) {
			t.Errorf("%q file name %v for %s", r.body, r.attrs[AttrFileName], path)
		}
		for _, flag := range []string{AttrTruncated, AttrContinuation} {
			if _, ok := r.attrs[flag]; ok {
				t.Errorf("%q unexpectedly has %s", r.body, flag)
			}
		}
		if r.time.IsZero() || r.observed.IsZero() {
			t.Errorf("%q has no time: %v / %v", r.body, r.time, r.observed)
		}
	}
	for body, want := range exp.m {
		if got := count[body]; got != want {
			t.Errorf("%q arrived %d times, want %d", body, got, want)
		}
	}
}

func TestTailerExactlyOnceThroughRotationAndRestart(t *testing.T) {
	dir := t.TempDir()
	state := t.TempDir()
	cfg := Config{
		Include:      []string{filepath.Join(dir, "*.log"), filepath.Join(dir, "*.log.1"), filepath.Join(dir, "syslog"), filepath.Join(dir, "syslog.1")},
		StateDir:     state,
		NodeName:     "host-1",
		PollInterval: 20 * time.Millisecond,
	}
	app := newLogFile(t, filepath.Join(dir, "app.log"))
	sys := newLogFile(t, filepath.Join(dir, "syslog"))
	defer app.close()
	defer sys.close()
	exp := newExpectations()
	sink := &memSink{t: t}
	cfg.CommitSink = sink.sink
	seq := 0
	next := func(l *logFile, what string) {
		seq++
		exp.line(l, fmt.Sprintf("2026-03-14T10:%02d:%02dZ %s line %05d", seq/60%60, seq%60, what, seq))
	}

	// Lines written before the first start are read from the beginning,
	// and a line repeated verbatim arrives as often as it was written.
	for range 20 {
		next(app, "before start")
	}
	for range 5 {
		exp.line(sys, "Mar 14 10:00:00 host daemon[1]: heartbeat")
	}
	_, stop := startTailer(t, cfg, nil)

	t.Log("appends")
	for range 200 {
		next(app, "append")
		next(sys, "append")
		if seq%50 == 0 {
			exp.line(app, "same text every time")
		}
	}
	waitForRecords(t, "appends", sink.records, exp.len())

	t.Log("rename rotation, with lines written to the renamed file before reopen")
	app.rotateRename(app.path+".1", func() {
		for range 5 {
			next(app, "renamed before reopen")
		}
	})
	for range 50 {
		next(app, "after rename")
	}

	t.Log("copytruncate rotation, then a generation that starts like the last one")
	sys.rotateCopyTruncate(sys.path + ".1")
	for range 5 {
		exp.line(sys, "Mar 14 10:00:00 host daemon[1]: heartbeat")
	}
	for range 50 {
		next(sys, "after truncate")
	}
	waitForRecords(t, "rotations", sink.records, exp.len())

	t.Log("graceful restart, with writes and a rotation while stopped")
	stop()
	for range 30 {
		next(app, "while stopped")
	}
	if err := os.Remove(app.path + ".1"); err != nil {
		t.Fatal(err)
	}
	app.rotateRename(app.path+".1", nil)
	for range 30 {
		next(app, "new generation while stopped")
		next(sys, "while stopped")
	}
	sink.mu.Lock()
	sink.failNext = 3 // the sink refuses a few times: retried, not lost
	sink.mu.Unlock()
	tl, stop := startTailer(t, cfg, nil)
	defer func() { stop() }()
	waitForRecords(t, "after restart", sink.records, exp.len())

	// Give duplicates a chance to show up before judging.
	time.Sleep(300 * time.Millisecond)
	verify(t, exp, sink.records(), "host-1")
	if s := tl.Stats(); s.SinkErrors != 3 || s.Batches == 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestTailerRecordContent(t *testing.T) {
	dir := t.TempDir()
	sink := &memSink{t: t}
	cfg := Config{Include: []string{filepath.Join(dir, "*.log")}, StateDir: t.TempDir(), NodeName: "n",
		PollInterval: 20 * time.Millisecond, MaxMessageBytes: 100, CommitSink: sink.sink}
	l := newLogFile(t, filepath.Join(dir, "app.log"))
	defer l.close()
	_, stop := startTailer(t, cfg, nil)
	defer stop()

	// 3 runes of 3 bytes straddle each 100-byte boundary.
	long := "2026-03-14T10:20:30Z ERROR " + strings.Repeat("€", 80) // 27 + 240 bytes
	before := time.Now()
	l.write("invalid \xff\xfe utf-8 WARN\r\n")
	l.write("\n\r\n")
	l.write(long + "\n")
	l.write("Mar 14 10:20:30 host sshd[9]: error: kex\n")
	l.write("no time, no level\n")

	waitForRecords(t, "records", sink.records, 6)
	time.Sleep(100 * time.Millisecond)
	recs := sink.records()
	if len(recs) != 6 {
		t.Fatalf("got %d records: %+v", len(recs), recs)
	}
	if r := recs[0]; r.body != "invalid \uFFFD utf-8 WARN" || r.severity != LevelWarn || r.time.Before(before) || !r.time.Equal(r.observed) {
		t.Errorf("invalid UTF-8 line: %+v", r)
	}
	var joined string
	for i, r := range recs[1:4] {
		if len(r.body) > 100 {
			t.Errorf("piece %d has %d bytes", i, len(r.body))
		}
		if (r.attrs[AttrTruncated] == true) != (i < 2) || (r.attrs[AttrContinuation] == true) != (i > 0) {
			t.Errorf("piece %d attrs %v", i, r.attrs)
		}
		if r.severity != LevelError || !r.time.Equal(time.Date(2026, 3, 14, 10, 20, 30, 0, time.UTC)) {
			t.Errorf("piece %d: severity %q time %v", i, r.severity, r.time)
		}
		joined += r.body
	}
	if joined != long {
		t.Errorf("long line changed:\n%q\n%q", joined, long)
	}
	if r := recs[4]; r.severity != LevelError || r.time.Month() != time.March || r.time.Day() != 14 || r.time.Hour() != 10 {
		t.Errorf("syslog line: %+v", r)
	}
	if r := recs[5]; r.severity != "" || !r.time.Equal(r.observed) || r.attrs[AttrFileName] != "app.log" {
		t.Errorf("plain line: %+v", r)
	}
}

func TestTailerBacklogLimitOnFirstStartOnly(t *testing.T) {
	dir := t.TempDir()
	state := t.TempDir()
	sink := &memSink{t: t}
	cfg := Config{Include: []string{filepath.Join(dir, "*.log")}, StateDir: state, PollInterval: 20 * time.Millisecond,
		BacklogLimit: 4096, CommitSink: sink.sink}
	exp := newExpectations()
	small := newLogFile(t, filepath.Join(dir, "small.log"))
	big := newLogFile(t, filepath.Join(dir, "big.log"))
	defer small.close()
	defer big.close()
	for i := range 10 {
		exp.line(small, fmt.Sprintf("small history %d", i))
	}
	for i := range 200 {
		big.write(fmt.Sprintf("big history %03d %s\n", i, strings.Repeat("x", 40)))
	}

	_, stop := startTailer(t, cfg, nil)
	waitForRecords(t, "small history", sink.records, exp.len())
	for i := range 10 {
		exp.line(big, fmt.Sprintf("big new %d", i))
	}
	waitForRecords(t, "new big lines", sink.records, exp.len())
	stop()

	// After the first start nothing is skipped: what was written while
	// the agent was down, and new large files, are read in full.
	for i := range 10 {
		exp.line(big, fmt.Sprintf("big while stopped %d", i))
	}
	later := newLogFile(t, filepath.Join(dir, "later.log"))
	defer later.close()
	for i := range 200 {
		exp.line(later, fmt.Sprintf("large file created later %03d %s", i, strings.Repeat("y", 40)))
	}
	_, stop = startTailer(t, cfg, nil)
	defer stop()
	waitForRecords(t, "after restart", sink.records, exp.len())
	time.Sleep(200 * time.Millisecond)
	verify(t, exp, sink.records(), "")
}

func TestNewRejectsBadConfig(t *testing.T) {
	sink := (&memSink{t: t}).sink
	for name, cfg := range map[string]Config{
		"no state dir": {CommitSink: sink},
		"no sink":      {StateDir: t.TempDir()},
		"tiny message": {StateDir: t.TempDir(), CommitSink: sink, MaxMessageBytes: 10},
		"bad glob":     {StateDir: t.TempDir(), CommitSink: sink, Include: []string{"/var/log/[.log"}},
	} {
		if _, err := New(cfg, quietLogger()); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
