package e2e

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPrometheusCompatibility: a real Prometheus remote-writes into vigil and
// the real promtool queries vigil's Prometheus API.
func TestPrometheusCompatibility(t *testing.T) {
	for _, bin := range []string{"prometheus", "promtool"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is required (apt-get install prometheus): %v", bin, err)
		}
	}
	s := startServer(t)
	dir := t.TempDir()
	promPort := freePort(t)
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:%d"]
remote_write:
  - url: %s/api/v1/write
    authorization:
      credentials: %s
`, promPort, s.url, s.agentToken)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	prom := exec.Command("prometheus", "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", promPort), "--log.level=warn")
	logf, _ := os.Create(filepath.Join(dir, "prometheus.log"))
	prom.Stdout, prom.Stderr = logf, logf
	prom.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = prom.Process.Signal(syscall.SIGTERM)
		_ = prom.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("prometheus log:\n%s", b)
		}
	})

	waitFor(t, "remote-written series in vigil", 90*time.Second, func() (bool, string) {
		r := s.promVector(t, `up{job="prometheus"}`)
		return len(r) == 1, fmt.Sprint(r)
	})

	// promtool 2.42 knows only basic auth: the API token goes in as the password.
	u, _ := url.Parse(s.url)
	u.User = url.UserPassword("promtool", s.apiToken)
	promtool := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("promtool", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("promtool %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := promtool("query", "instant", u.String(), `up{job="prometheus"}`); !strings.Contains(out, `up{instance="127.0.0.1:`) || !strings.Contains(out, "=> 1 @") {
		t.Errorf("instant query output:\n%s", out)
	}
	now := time.Now()
	out := promtool("query", "range", "--start", fmt.Sprint(now.Add(-time.Minute).Unix()), "--end", fmt.Sprint(now.Unix()), "--step", "5s",
		u.String(), `up{job="prometheus"}`)
	if !strings.Contains(out, `up{instance="127.0.0.1:`) || !strings.Contains(out, "1 @[") {
		t.Errorf("range query output:\n%s", out)
	}
	if out := promtool("query", "series", "--match", `up`, u.String()); !strings.Contains(out, `job="prometheus"`) {
		t.Errorf("series output:\n%s", out)
	}
	if out := promtool("query", "labels", u.String(), "job"); !strings.Contains(out, "prometheus") {
		t.Errorf("labels output:\n%s", out)
	}
	// Without credentials vigil refuses.
	if out, err := exec.Command("promtool", "query", "instant", s.url, "up").CombinedOutput(); err == nil {
		t.Errorf("anonymous promtool query succeeded:\n%s", out)
	}
}
