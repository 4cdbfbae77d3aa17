package nodemetrics

import (
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Reads this machine's real /proc and /sys.
func TestCollectReadsThisHost(t *testing.T) {
	c, err := New(Config{NodeName: "test-node"})
	if err != nil {
		t.Fatal(err)
	}
	md, err := c.Collect(time.Now())
	if err != nil {
		t.Logf("partial: %v", err)
	}
	got := map[string]int{}
	var memTotal float64
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := 0; i < ms.Len(); i++ {
		m := ms.At(i)
		if got[m.Name()]++; got[m.Name()] > 1 {
			t.Errorf("metric %s repeated; data points belong under one metric", m.Name())
		}
		if m.Name() == "node_memory_MemTotal_bytes" {
			memTotal = m.Gauge().DataPoints().At(0).DoubleValue()
		}
		if m.Name() == "node_cpu_seconds_total" && m.Type() != pmetric.MetricTypeSum {
			t.Errorf("cpu seconds must be a counter, got %v", m.Type())
		}
	}
	for _, name := range []string{"node_cpu_seconds_total", "node_memory_MemTotal_bytes", "node_memory_MemAvailable_bytes",
		"node_load1", "node_network_receive_bytes_total", "node_filesystem_size_bytes"} {
		if got[name] == 0 {
			t.Errorf("missing %s", name)
		}
	}
	if memTotal < 64<<20 {
		t.Errorf("MemTotal = %v, implausible", memTotal)
	}
	if v, _ := md.ResourceMetrics().At(0).Resource().Attributes().Get("k8s.node.name"); v.Str() != "test-node" {
		t.Errorf("node attribute = %q", v.Str())
	}
}

func TestNewRequiresNodeName(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("expected error without node name")
	}
}
