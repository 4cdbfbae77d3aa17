package shipper

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func testLogger(t *testing.T) *slog.Logger {
	t.Helper()
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// collector is an OTLP/HTTP endpoint recording what it accepted.
type collector struct {
	mu     sync.Mutex
	bodies []string
	paths  []string
	status func(body string) int // nil: 200
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	if r.Header.Get("Content-Type") != "application/x-protobuf" || r.Header.Get("Authorization") != "Bearer tok" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	code := http.StatusOK
	if c.status != nil {
		code = c.status(string(body))
	}
	if code == http.StatusOK {
		c.mu.Lock()
		c.bodies = append(c.bodies, string(body))
		c.paths = append(c.paths, r.URL.Path)
		c.mu.Unlock()
	}
	w.WriteHeader(code)
}

func (c *collector) got() ([]string, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.bodies...), append([]string(nil), c.paths...)
}

func newShipper(t *testing.T, dir, endpoint string, maxBytes int64) *Shipper {
	t.Helper()
	s, err := New(Config{
		Endpoint:   endpoint,
		Token:      "tok",
		Dir:        dir,
		MaxBytes:   maxBytes,
		MinBackoff: 10 * time.Millisecond,
		MaxBackoff: 100 * time.Millisecond,
	}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func runShipper(t *testing.T, s *Shipper) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestServerDownThenUpDeliversAllOnceInOrder(t *testing.T) {
	// Reserve an address with nothing listening: connections are refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	col := &collector{}
	var mu sync.Mutex
	unavailable := 3 // then 503 for a few requests
	col.status = func(string) int {
		mu.Lock()
		defer mu.Unlock()
		if unavailable > 0 {
			unavailable--
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}

	s := newShipper(t, t.TempDir(), "http://"+addr+"/", 0)
	stop := runShipper(t, s)
	defer stop()

	const n = 50
	var want []string
	for i := range n {
		sig := Logs
		if i%5 == 0 {
			sig = Metrics
		}
		p := fmt.Sprintf("batch-%03d-%s", i, sig)
		want = append(want, p)
		if err := s.Enqueue(context.Background(), sig, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "retries while down", 5*time.Second, func() bool { return s.Stats().Retries >= 3 })
	if st := s.Stats(); st.Sent != 0 || st.QueuedBatches != n {
		t.Fatalf("while down: %+v", st)
	}

	// The port was ours a moment ago; another process may hold it briefly.
	for deadline := time.Now().Add(10 * time.Second); ; {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("could not rebind %s: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	srv := httptest.NewUnstartedServer(col)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()

	waitFor(t, "delivery", 10*time.Second, func() bool { return s.Stats().QueuedBatches == 0 })
	bodies, paths := col.got()
	if len(bodies) != n {
		t.Fatalf("delivered %d batches, want %d", len(bodies), n)
	}
	for i := range bodies {
		if bodies[i] != want[i] {
			t.Fatalf("batch %d = %q, want %q (order or duplicate)", i, bodies[i], want[i])
		}
		wantPath := "/v1/logs"
		if i%5 == 0 {
			wantPath = "/v1/metrics"
		}
		if paths[i] != wantPath {
			t.Fatalf("batch %d sent to %s, want %s", i, paths[i], wantPath)
		}
	}
	st := s.Stats()
	if st.Sent != n || st.QueuedBytes != 0 || st.Retries < 6 {
		t.Fatalf("stats %+v", st)
	}
	assertNoBatchFiles(t, s.cfg.Dir)
}

func TestBadRequestMovedToRejected(t *testing.T) {
	col := &collector{status: func(body string) int {
		if body == "bad" {
			return http.StatusBadRequest
		}
		return http.StatusOK
	}}
	srv := httptest.NewServer(col)
	defer srv.Close()

	dir := t.TempDir()
	s := newShipper(t, dir, srv.URL, 0)
	for _, p := range []string{"one", "bad", "two"} {
		if err := s.Enqueue(context.Background(), Logs, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	stop := runShipper(t, s)
	waitFor(t, "queue drained", 5*time.Second, func() bool { return s.Stats().QueuedBatches == 0 })
	stop()

	bodies, _ := col.got()
	if fmt.Sprint(bodies) != "[one two]" {
		t.Fatalf("delivered %v", bodies)
	}
	rej, err := filepath.Glob(filepath.Join(dir, rejectedDir, "*"+batchExt))
	if err != nil || len(rej) != 1 {
		t.Fatalf("rejected files %v, %v", rej, err)
	}
	if b, _ := os.ReadFile(rej[0]); string(b) != "bad" {
		t.Fatalf("rejected content %q", b)
	}
	if st := s.Stats(); st.Rejected != 1 || st.Sent != 2 {
		t.Fatalf("stats %+v", st)
	}
	assertNoBatchFiles(t, dir)
}

func TestEnqueueBlocksWhileFullUntilDrained(t *testing.T) {
	release := make(chan struct{})
	col := &collector{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		col.ServeHTTP(w, r)
	}))
	defer srv.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	s := newShipper(t, t.TempDir(), srv.URL, 30)
	for _, p := range []string{"aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc"} {
		if err := s.Enqueue(context.Background(), Logs, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}

	// Full: a bounded wait gives up with the context's error.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	err := s.Enqueue(ctx, Logs, []byte("x"))
	cancel()
	if err == nil {
		t.Fatal("Enqueue into a full buffer returned nil")
	}

	stop := runShipper(t, s)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- s.Enqueue(context.Background(), Logs, []byte("dddddddddd")) }()
	select {
	case err := <-done:
		t.Fatalf("Enqueue did not block on a full buffer: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	if st := s.Stats(); st.QueuedBytes != 30 {
		t.Fatalf("queued bytes %d, want 30", st.QueuedBytes)
	}

	close(release)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Enqueue still blocked after the server drained the buffer")
	}
	waitFor(t, "all sent", 5*time.Second, func() bool { return s.Stats().QueuedBatches == 0 })
	bodies, _ := col.got()
	if fmt.Sprint(bodies) != "[aaaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd]" {
		t.Fatalf("delivered %v", bodies)
	}
}

func TestBufferSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := newShipper(t, dir, "", 0)
	for i := range 12 {
		if err := s.Enqueue(context.Background(), Logs, fmt.Appendf(nil, "p%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	// A crash mid-write leaves a temporary file behind; it must be ignored.
	if err := os.WriteFile(filepath.Join(dir, ".tmp-123"), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}

	col := &collector{}
	srv := httptest.NewServer(col)
	defer srv.Close()
	s2 := newShipper(t, dir, srv.URL, 0)
	if st := s2.Stats(); st.QueuedBatches != 12 || st.QueuedBytes != 36 {
		t.Fatalf("after restart %+v", st)
	}
	// New batches continue the sequence after the old ones.
	if err := s2.Enqueue(context.Background(), Logs, []byte("p12")); err != nil {
		t.Fatal(err)
	}
	stop := runShipper(t, s2)
	waitFor(t, "drained", 5*time.Second, func() bool { return s2.Stats().QueuedBatches == 0 })
	stop()
	bodies, _ := col.got()
	if len(bodies) != 13 {
		t.Fatalf("delivered %d", len(bodies))
	}
	for i, b := range bodies {
		if b != fmt.Sprintf("p%02d", i) {
			t.Fatalf("batch %d = %q", i, b)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ".tmp-123")); !os.IsNotExist(err) {
		t.Fatalf("temporary file not cleaned up: %v", err)
	}
}

func TestUnauthorizedIsRetriedNotRejected(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	col := &collector{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		c := calls
		mu.Unlock()
		if c <= 2 {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		col.ServeHTTP(w, r)
	}))
	defer srv.Close()
	s := newShipper(t, t.TempDir(), srv.URL, 0)
	if err := s.Enqueue(context.Background(), Logs, []byte("x")); err != nil {
		t.Fatal(err)
	}
	stop := runShipper(t, s)
	waitFor(t, "sent", 5*time.Second, func() bool { return s.Stats().Sent == 1 })
	stop()
	if st := s.Stats(); st.Rejected != 0 || st.Retries != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func assertNoBatchFiles(t *testing.T, dir string) {
	t.Helper()
	left, err := filepath.Glob(filepath.Join(dir, "*"+batchExt))
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Fatalf("batch files left: %v", left)
	}
}
