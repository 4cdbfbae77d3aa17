package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestUpWatchesThisMachine runs `vigil up` (what `make run` starts) and expects
// this machine's node metrics and its log files to be queryable within 30 s.
func TestUpWatchesThisMachine(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	logDir := t.TempDir()
	logFile := filepath.Join(logDir, "app.log")
	now := time.Now().UTC()
	line := fmt.Sprintf("%s ERROR payment gateway timeout id=%s", now.Format(time.RFC3339), randHex(6))
	if err := os.WriteFile(logFile, []byte(now.Add(-time.Second).Format(time.RFC3339)+" INFO starting\n"+line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	s := &vigilServer{url: fmt.Sprintf("http://127.0.0.1:%d", port), dataDir: t.TempDir(), password: "pw-" + randHex(8)}
	s.proc = startProc(t, "up", []string{"VIGIL_ADMIN_PASSWORD=" + s.password}, "up",
		"--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data-dir", s.dataDir, "--host-logs", filepath.Join(logDir, "*.log"),
		"--log-level", "warn")
	start := time.Now()
	s.waitReady(t)
	s.apiToken = s.createAPIToken(t)

	waitFor(t, "this machine's memory metric", 30*time.Second, func() (bool, string) {
		r := s.promVector(t, fmt.Sprintf(`node_memory_MemAvailable_bytes{node=%q}`, host))
		return len(r) == 1, fmt.Sprint(r)
	})
	waitFor(t, "this machine's log line", 30*time.Second-time.Since(start), func() (bool, string) {
		rows := s.logRows(t, `"payment gateway timeout"`)
		if len(rows) != 1 {
			return false, fmt.Sprint(rows)
		}
		r := rows[0]
		return r["_msg"] == line && r["level"] == "error" && r["node"] == host && r["file"] == logFile, fmt.Sprint(r)
	})
	t.Logf("metrics and logs of %s queryable %v after start", host, time.Since(start).Round(time.Millisecond))
	// CPU is a rate: it needs two collections (15 s apart by default).
	waitFor(t, "this machine's CPU rate", 60*time.Second, func() (bool, string) {
		r := s.promVector(t, fmt.Sprintf(`sum(rate(node_cpu_seconds_total{node=%q}[2m]))`, host))
		return len(r) == 1, fmt.Sprint(r)
	})
	checkUI(t, s, host, `"payment gateway timeout"`)
}
