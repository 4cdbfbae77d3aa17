package e2e

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestLogDeliveryExactlyOnce writes a container log continuously while the
// agent is killed with SIGKILL and restarted, the file is rotated by rename and
// by copytruncate, and the server is stopped for a while (2 minutes unless
// VIGIL_E2E_OUTAGE says otherwise) and restarted. Every line must arrive
// exactly once, with its content intact.
func TestLogDeliveryExactlyOnce(t *testing.T) {
	outage := 2 * time.Minute
	if v := os.Getenv("VIGIL_E2E_OUTAGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("VIGIL_E2E_OUTAGE: %v", err)
		}
		outage = d
	}
	s := startServer(t)
	root := t.TempDir()
	dir := filepath.Join(root, "rel_writer-0_0b7a2f6e-1111-4c1e-9a55-3d2f4a6b7c8d", "app")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	w := &logWriter{path: filepath.Join(dir, "0.log")}
	w.open(t)

	stateDir := t.TempDir()
	agentArgs := []string{"--pod-logs-root", root, "--node-name", "rel-node", "--metrics-interval", "1h"}
	agent := startAgent(t, s, stateDir, agentArgs...)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.run(stop) }()

	step := func(what string, d time.Duration) {
		t.Logf("%s (%d lines written)", what, w.written())
		time.Sleep(d)
	}
	step("writing", 3*time.Second)
	w.rotateRename(t, "0.log.20261126-120000")
	step("rotated by rename", 3*time.Second)
	agent.stop(syscall.SIGKILL)
	step("agent killed", 2*time.Second)
	agent.start()
	step("agent restarted", 3*time.Second)
	w.rotateCopyTruncate(t, "0.log.20261126-120100")
	step("rotated by copytruncate", 2*time.Second)
	agent.stop(syscall.SIGKILL)
	agent.start()
	step("agent killed and restarted at once", 3*time.Second)

	s.stop(syscall.SIGTERM)
	step("server stopped", outage/2)
	w.rotateRename(t, "0.log.20261126-120200")
	agent.stop(syscall.SIGKILL)
	agent.start()
	step("rotated and agent killed during the outage", outage-outage/2)
	s.restart(t)
	step("server restarted", 5*time.Second)
	close(stop)
	wg.Wait()
	total := w.written()
	t.Logf("writer stopped after %d lines", total)

	lineRe := regexp.MustCompile(`^seq=(\d+) `)
	var rows []map[string]string
	waitFor(t, "all lines stored", 3*time.Minute, func() (bool, string) {
		rows = s.logRows(t, `namespace:="rel"`)
		return len(rows) >= total, fmt.Sprintf("%d of %d", len(rows), total)
	})
	time.Sleep(3 * time.Second) // a late duplicate would show up now
	rows = s.logRows(t, `namespace:="rel"`)
	seen := make([]int, total)
	for _, r := range rows {
		m := lineRe.FindStringSubmatch(r["_msg"])
		if m == nil {
			t.Errorf("unexpected line %q", r["_msg"])
			continue
		}
		n, _ := strconv.Atoi(m[1])
		if n >= total {
			t.Errorf("line %d beyond the %d written", n, total)
			continue
		}
		seen[n]++
		if r["_msg"] != lineText(n) {
			t.Errorf("line %d content changed: %q", n, r["_msg"])
		}
		if r["pod"] != "writer-0" || r["container"] != "app" || r["node"] != "rel-node" {
			t.Errorf("line %d metadata: %v", n, r)
		}
	}
	var missing, dup int
	for n, c := range seen {
		switch {
		case c == 0:
			missing++
			if missing <= 5 {
				t.Errorf("line %d missing", n)
			}
		case c > 1:
			dup++
			if dup <= 5 {
				t.Errorf("line %d arrived %d times", n, c)
			}
		}
	}
	if missing > 0 || dup > 0 || len(rows) != total {
		t.Fatalf("%d lines written, %d stored: %d missing, %d duplicated", total, len(rows), missing, dup)
	}
	t.Logf("all %d lines arrived exactly once", total)
}

// lineText is line n's message; every tenth line is written as two CRI partials.
func lineText(n int) string {
	return fmt.Sprintf("seq=%06d level=info msg=\"processed order\" order_id=%d amount=%d.%02d", n, 100000+n, n%500, n%100)
}

type logWriter struct {
	mu   sync.Mutex
	path string
	f    *os.File
	n    int
}

func (w *logWriter) open(t *testing.T) {
	f, err := os.OpenFile(w.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	w.f = f
}

func (w *logWriter) written() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// run appends about 200 lines a second until stop closes.
func (w *logWriter) run(stop chan struct{}) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		w.mu.Lock()
		for i := 0; i < 2; i++ {
			msg := lineText(w.n)
			now := time.Now()
			var s string
			if w.n%10 == 0 {
				half := len(msg) / 2
				s = criLine(now, "stdout", "P", msg[:half]) + criLine(now, "stdout", "F", msg[half:])
			} else {
				s = criLine(now, "stdout", "F", msg)
			}
			if _, err := io.WriteString(w.f, s); err != nil {
				panic(err)
			}
			w.n++
		}
		w.mu.Unlock()
	}
}

// rotateRename is the kubelet's rotation: rename the live file, start a new one.
func (w *logWriter) rotateRename(t *testing.T, name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.f.Close()
	if err := os.Rename(w.path, filepath.Join(filepath.Dir(w.path), name)); err != nil {
		t.Fatal(err)
	}
	w.open(t)
}

// rotateCopyTruncate is logrotate's copytruncate. The writer pauses during it,
// since lines written between copy and truncate are lost by design of the method.
func (w *logWriter) rotateCopyTruncate(t *testing.T, name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	b, err := os.ReadFile(w.path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(w.path), name), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := w.f.Truncate(0); err != nil {
		t.Fatal(err)
	}
}
