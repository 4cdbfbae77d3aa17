package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"vigil/internal/agent/processes"
	"vigil/internal/kubelet"
	"vigil/internal/store/metrics"
)

func procSeries(node string, pid int, cmd string, t time.Time, cpu, rss float64, extra ...string) []metrics.Series {
	var out []metrics.Series
	for name, v := range map[string]float64{processes.MetricCPURatio: cpu, processes.MetricRSS: rss, processes.MetricCPUSeconds: cpu * 100, processes.MetricStartTime: 1.7e9} {
		kv := append([]string{labels.MetricName, name, "node", node, "pid", fmt.Sprint(pid), "command", cmd, "user", "root"}, extra...)
		out = append(out, metrics.Series{Labels: labels.FromStrings(kv...), Samples: []metrics.Sample{{T: t.UnixMilli(), V: v}}})
	}
	return out
}

func TestNodeProcessesAtTime(t *testing.T) {
	ts := startServer(t)
	ctx := context.Background()
	t1 := time.Now().Add(-2 * time.Minute).Truncate(time.Second)
	t2 := t1.Add(15 * time.Second)
	var first, second []metrics.Series
	first = append(first, procSeries("n1", 10, "postgres", t1, 0.5, 300<<20)...)
	first = append(first, procSeries("n1", 11, "nginx", t1, 0.1, 50<<20, "namespace", "shop", "pod", "web-1", "container", "web", "container_id", "abc")...)
	first = append(first, procSeries("n2", 12, "other-node", t1, 0.9, 1<<20)...)
	first = append(first, metrics.Series{Labels: labels.FromStrings(labels.MetricName, "node_memory_MemTotal_bytes", "node", "n1"), Samples: []metrics.Sample{{T: t1.UnixMilli(), V: 1 << 30}}})
	// At t2 nginx left the top list (staleness markers) and java arrived.
	var st kubelet.Staleness
	st.Mark("p", first[:8], t1)
	second = append(second, procSeries("n1", 10, "postgres", t2, 0.2, 310<<20)...)
	second = append(second, procSeries("n1", 13, "java", t2, 1.5, 900<<20)...)
	second = st.Mark("p", second, t2)
	for _, batch := range [][]metrics.Series{first, second} {
		if _, err := ts.Metrics.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	get := func(q string) ProcessList {
		t.Helper()
		code, body := ts.do(t, "GET", "/api/nodes/n1/processes"+q, ts.apiToken, "", nil)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", q, code, body)
		}
		var pl ProcessList
		if err := json.Unmarshal(body, &pl); err != nil {
			t.Fatal(err)
		}
		return pl
	}
	cmds := func(pl ProcessList) string {
		var s []string
		for _, p := range pl.Processes {
			s = append(s, fmt.Sprintf("%d:%s:%.1f", p.PID, p.Command, p.CPUPercent))
		}
		return strings.Join(s, ",")
	}
	at1 := get(fmt.Sprintf("?time=%d", t1.Add(5*time.Second).Unix()))
	if got := cmds(at1); got != "10:postgres:50.0,11:nginx:10.0" {
		t.Fatalf("at t1: %s", got)
	}
	ng := at1.Processes[1]
	if ng.Namespace != "shop" || ng.Pod != "web-1" || ng.Container != "web" || ng.ContainerID != "abc" || ng.User != "root" || ng.MemoryBytes != 50<<20 {
		t.Fatalf("nginx: %+v", ng)
	}
	if ng.MemoryPercent == nil || *ng.MemoryPercent != 4.9 {
		t.Fatalf("memory percent: %v", ng.MemoryPercent)
	}
	if at1.CollectedAt == nil || !at1.CollectedAt.Equal(t1) {
		t.Fatalf("collectedAt %v, want %v", at1.CollectedAt, t1)
	}
	at2 := get("?time=" + t2.Add(time.Second).Format(time.RFC3339))
	if got := cmds(at2); got != "13:java:150.0,10:postgres:20.0" {
		t.Fatalf("at t2: %s", got)
	}
	if got := cmds(get(fmt.Sprintf("?time=%d&sort=memory&limit=1", t2.Unix()))); got != "13:java:150.0" {
		t.Fatalf("by memory: %s", got)
	}
	if pl := get(fmt.Sprintf("?time=%d", t1.Add(-time.Hour).Unix())); len(pl.Processes) != 0 || pl.CollectedAt != nil {
		t.Fatalf("before any data: %+v", pl)
	}
	for _, q := range []string{"?time=yesterday", "?sort=pid", "?limit=0", "?limit=x", "?time=1e300"} {
		if code, body := ts.do(t, "GET", "/api/nodes/n1/processes"+q, ts.apiToken, "", nil); code != http.StatusBadRequest {
			t.Errorf("%s: %d %s", q, code, body)
		}
	}
	if code, _ := ts.do(t, "GET", "/api/nodes/n1/processes", "", "", nil); code != http.StatusUnauthorized {
		t.Errorf("anonymous: %d", code)
	}
}

func TestKubeletScrapeURLValidated(t *testing.T) {
	for _, u := range []string{"https://127.0.0.1:1/metrics/resource", "127.0.0.1/{node}"} {
		_, err := New(context.Background(), Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), AdminPassword: "pw-123456789",
			Kubelet: KubeletScrapeConfig{URLs: []string{u}}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err == nil || !strings.Contains(err.Error(), u) {
			t.Errorf("%s: err = %v", u, err)
		}
	}
}
