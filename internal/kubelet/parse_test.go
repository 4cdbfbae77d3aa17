package kubelet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

	"vigil/internal/ingest"
	"vigil/internal/store/metrics"
)

var at = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func parseFile(t *testing.T, name string) []metrics.Series {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := Parse(f, ParseOptions{Node: "node-a", Time: at})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func find(series []metrics.Series, sel string) []metrics.Series {
	var out []metrics.Series
	for _, s := range series {
		if strings.Contains(s.Labels.String(), sel) {
			out = append(out, s)
		}
	}
	return out
}

func TestParseResource(t *testing.T) {
	series := parseFile(t, "resource.txt")
	// go_goroutines is not a resource family and is dropped.
	if len(series) != 10 {
		t.Fatalf("got %d series: %v", len(series), series)
	}
	for _, s := range series {
		if s.Labels.Get("node") != "node-a" {
			t.Errorf("no node label: %s", s.Labels)
		}
		if len(s.Samples) != 1 || s.Samples[0].T != at.UnixMilli() {
			t.Errorf("sample of %s: %v (want the scrape time)", s.Labels, s.Samples)
		}
		if s.Labels.Get(labels.MetricName) == "go_goroutines" {
			t.Errorf("kept %s", s.Labels)
		}
	}
	want := map[string]float64{
		`{__name__="container_memory_working_set_bytes", container="web", namespace="shop", node="node-a", pod="web-7d4b9c-abcde"}`: 104857600,
		`{__name__="container_cpu_usage_seconds_total", container="web", namespace="shop", node="node-a", pod="web-7d4b9c-abcde"}`:  12.5,
		`{__name__="pod_memory_working_set_bytes", namespace="shop", node="node-a", pod="web-7d4b9c-abcde"}`:                        109051904,
		`{__name__="node_memory_working_set_bytes", node="node-a"}`:                                                                 2147483648,
		`{__name__="node_cpu_usage_seconds_total", node="node-a"}`:                                                                  4521.39,
		`{__name__="resource_scrape_error", node="node-a"}`:                                                                         0,
	}
	got := map[string]float64{}
	for _, s := range series {
		got[s.Labels.String()] = s.Samples[0].V
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
}

func TestParseCadvisor(t *testing.T) {
	series := parseFile(t, "cadvisor.txt")
	if n := len(find(series, "cadvisor_version_info")) + len(find(series, "container_spec_")); n != 0 {
		t.Errorf("kept %d non-resource series", n)
	}
	thr := find(series, `__name__="container_cpu_cfs_throttled_seconds_total"`)
	if len(thr) != 1 || thr[0].Samples[0].V != 17.04 || thr[0].Labels.Get("pod") != "web-7d4b9c-abcde" || thr[0].Labels.Get("image") != "registry.example/web:1.2" {
		t.Fatalf("throttled: %v", thr)
	}
	rss := find(series, `__name__="container_memory_rss"`)
	if len(rss) != 2 {
		t.Fatalf("rss: %v", rss)
	}
	// cAdvisor's empty labels are absent, as in Prometheus.
	root := find(rss, `id="/"`)
	if len(root) != 1 || root[0].Labels.Has("pod") || root[0].Labels.Get("node") != "node-a" {
		t.Fatalf("root cgroup rss: %v", root)
	}
	if rx := find(series, `interface="eth0"`); len(rx) != 2 {
		t.Fatalf("network: %v", rx)
	}
	if m := find(series, "machine_cpu_cores"); len(m) != 1 || m[0].Samples[0].V != 2 {
		t.Fatalf("machine_cpu_cores: %v", m)
	}
}

func TestParseKeepsTargetNodeLabel(t *testing.T) {
	s, err := Parse(strings.NewReader("node_x{node=\"other\"} 1\n"), ParseOptions{Node: "n1", Time: at})
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 1 || s[0].Labels.Get("node") != "n1" || s[0].Labels.Get("exported_node") != "other" {
		t.Fatalf("%v", s)
	}
}

func TestParseHistogramAndSummary(t *testing.T) {
	in := `# TYPE node_lat histogram
node_lat_bucket{le="0.1"} 2
node_lat_bucket{le="+Inf"} 5
node_lat_sum 1.5
node_lat_count 5
# TYPE node_q summary
node_q{quantile="0.5"} 3
node_q_sum 10
node_q_count 4
`
	s, err := Parse(strings.NewReader(in), ParseOptions{Node: "n", Time: at})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, x := range s {
		names = append(names, x.Labels.Get(labels.MetricName)+x.Labels.Get("le")+x.Labels.Get("quantile"))
	}
	slices.Sort(names)
	if got := strings.Join(names, ","); got != "node_lat_bucket+Inf,node_lat_bucket0.1,node_lat_count,node_lat_sum,node_q0.5,node_q_count,node_q_sum" {
		t.Fatalf("got %s", got)
	}
}

func TestParseRejectsBadInput(t *testing.T) {
	for name, tc := range map[string]struct {
		in   string
		opts ParseOptions
		want string
	}{
		"malformed":     {in: "container_cpu_usage_seconds_total{pod=\"x\" 1\n", want: "parse exposition"},
		"bad value":     {in: "node_x abc\n", want: "parse exposition"},
		"invalid utf-8": {in: "node_x{a=\"\xff\xfe\"} 1\n", want: "not valid UTF-8"},
		"too large":     {in: strings.Repeat("node_x 1\n", 100), opts: ParseOptions{MaxBytes: 64}, want: "too large"},
		"too many":      {in: "node_x{a=\"1\"} 1\nnode_x{a=\"2\"} 1\nnode_x{a=\"3\"} 1\n", opts: ParseOptions{MaxSeries: 2}, want: "more than 2 series"},
		"dup label":     {in: "node_x{a=\"1\",a=\"2\"} 1\n", want: "duplicate label"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.in), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	_, err := Parse(strings.NewReader(strings.Repeat("x", 100)), ParseOptions{MaxBytes: 10})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("not ErrTooLarge: %v", err)
	}
}

// The agent ships series as OTLP; the server's receiver must give back the same series.
func TestOTLPRoundTrip(t *testing.T) {
	in := parseFile(t, "cadvisor.txt")
	in = append(in, metrics.Series{
		Labels:  labels.FromStrings(labels.MetricName, "container_memory_rss", "node", "node-a", "pod", "gone"),
		Samples: []metrics.Sample{{T: at.UnixMilli(), V: math.Float64frombits(value.StaleNaN)}},
	})
	body, err := EncodeOTLP(in, "test")
	if err != nil {
		t.Fatal(err)
	}
	req := pmetricotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		t.Fatal(err)
	}
	out, dropped := ingest.MetricsToSeries(req.Metrics())
	if dropped != 0 {
		t.Fatalf("dropped %d", dropped)
	}
	key := func(ss []metrics.Series) []string {
		var k []string
		for _, s := range ss {
			k = append(k, fmt.Sprintf("%s %d %x", s.Labels, s.Samples[0].T, math.Float64bits(s.Samples[0].V)))
		}
		slices.Sort(k)
		return k
	}
	if a, b := key(in), key(out); !slices.Equal(a, b) {
		t.Fatalf("round trip changed series:\n%v\n%v", a, b)
	}
}

func TestStalenessMarksVanishedSeries(t *testing.T) {
	var st Staleness
	a := metrics.Series{Labels: labels.FromStrings(labels.MetricName, "m", "pod", "a"), Samples: []metrics.Sample{{T: 1, V: 1}}}
	b := metrics.Series{Labels: labels.FromStrings(labels.MetricName, "m", "pod", "b"), Samples: []metrics.Sample{{T: 1, V: 1}}}
	if got := st.Mark("t", []metrics.Series{a, b}, at); len(got) != 2 {
		t.Fatalf("first: %v", got)
	}
	got := st.Mark("t", []metrics.Series{a}, at)
	if len(got) != 2 || got[1].Labels.Get("pod") != "b" || !value.IsStaleNaN(got[1].Samples[0].V) || got[1].Samples[0].T != at.UnixMilli() {
		t.Fatalf("second: %v", got)
	}
	if got := st.Mark("t", []metrics.Series{a}, at); len(got) != 1 {
		t.Fatalf("marker repeated: %v", got)
	}
	if got := st.Mark("t", nil, at); len(got) != 1 || !value.IsStaleNaN(got[0].Samples[0].V) {
		t.Fatalf("failed scrape: %v", got)
	}
}

func TestPollerScrapesEveryNode(t *testing.T) {
	body, err := os.ReadFile("testdata/resource.txt")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	paths := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths[r.URL.Path] = r.Header.Get("Authorization")
		mu.Unlock()
		if strings.Contains(r.URL.Path, "broken") {
			http.Error(w, "nope", http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	nodes := []string{"n1", "n2", "broken"}
	var got []metrics.Series
	p := &Poller{
		URLs:   []string{srv.URL + "/metrics/nodes/{node}/metrics/resource"},
		Nodes:  func() []string { return nodes },
		Client: &Client{HTTP: srv.Client(), Token: "tok"},
		Sink: func(_ context.Context, s []metrics.Series) error {
			mu.Lock()
			got = append(got, s...)
			mu.Unlock()
			return nil
		},
	}
	err = p.Once(context.Background(), at)
	if err == nil || !strings.Contains(err.Error(), "502") {
		t.Fatalf("want the broken node's error, got %v", err)
	}
	if len(got) != 20 || len(find(got, `node="n1"`)) != 10 || len(find(got, `node="n2"`)) != 10 {
		t.Fatalf("got %d series", len(got))
	}
	if paths["/metrics/nodes/n1/metrics/resource"] != "Bearer tok" {
		t.Fatalf("requests: %v", paths)
	}
	// n2 leaves the inventory: its series get staleness markers.
	nodes = []string{"n1"}
	got = nil
	if err := p.Once(context.Background(), at.Add(15*time.Second)); err != nil {
		t.Fatal(err)
	}
	stale := 0
	for _, s := range find(got, `node="n2"`) {
		if value.IsStaleNaN(s.Samples[0].V) {
			stale++
		}
	}
	if stale != 10 || len(got) != 20 {
		t.Fatalf("stale %d of %d", stale, len(got))
	}
}

func TestScrapeRejectsProtobuf(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.google.protobuf")
		_, _ = w.Write([]byte{1, 2, 3})
	}))
	defer srv.Close()
	_, err := (&Client{HTTP: srv.Client()}).Scrape(context.Background(), srv.URL, ParseOptions{})
	if err == nil || !strings.Contains(err.Error(), "content type") {
		t.Fatalf("err = %v", err)
	}
}

func TestValidateTemplate(t *testing.T) {
	if err := ValidateTemplate("https://127.0.0.1:1/metrics/nodes/{node}/metrics/resource"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"127.0.0.1/x", "ftp://h/x", "https://"} {
		if ValidateTemplate(bad) == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	if got := TargetURL("http://h/{node}/x", "a/b"); got != "http://h/a%2Fb/x" {
		t.Fatal(got)
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"resource.txt", "cadvisor.txt"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("node_x{a=\"\\\"\\n\"} NaN\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		series, err := Parse(bytes.NewReader(in), ParseOptions{Node: "n", Time: at, MaxBytes: 1 << 16, Keep: func(string) bool { return true }})
		if err != nil {
			return
		}
		for _, s := range series {
			if s.Labels.Get("node") != "n" || s.Labels.Get(labels.MetricName) == "" || len(s.Samples) != 1 {
				t.Fatalf("bad series %v", s)
			}
			if _, dup := s.Labels.HasDuplicateLabelNames(); dup {
				t.Fatalf("duplicate labels %v", s.Labels)
			}
			s.Labels.Range(func(l labels.Label) {
				if l.Value == "" {
					t.Fatalf("empty label %s in %v", l.Name, s.Labels)
				}
			})
		}
	})
}
