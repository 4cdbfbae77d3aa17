package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"vigil/test/cluster"
	"vigil/test/smtptest"
)

// remoteWrite sends series through Prometheus remote-write 1.0, as Prometheus does.
func (s *vigilServer) remoteWrite(t *testing.T, ts []prompb.TimeSeries) {
	t.Helper()
	if err := s.tryRemoteWrite(ts); err != nil {
		t.Fatal(err)
	}
}

// tryRemoteWrite is remoteWrite for background senders, which must not fail
// the test while the server restarts.
func (s *vigilServer) tryRemoteWrite(ts []prompb.TimeSeries) error {
	body, err := (&prompb.WriteRequest{Timeseries: ts}).Marshal()
	if err != nil {
		return err
	}
	req, _ := http.NewRequest("POST", s.url+"/api/v1/write", bytes.NewReader(snappy.Encode(nil, body)))
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	req.Header.Set("Authorization", "Bearer "+s.agentToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("remote write: %s %s", resp.Status, b)
	}
	return nil
}

func series(name string, lb map[string]string, samples ...prompb.Sample) prompb.TimeSeries {
	ls := []prompb.Label{{Name: "__name__", Value: name}}
	for k, v := range lb {
		ls = append(ls, prompb.Label{Name: k, Value: v})
	}
	return prompb.TimeSeries{Labels: ls, Samples: samples}
}

func (s *vigilServer) send(t *testing.T, method, path string, body any) ([]byte, int) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	return s.sendRaw(t, method, path, r)
}

// sendRaw sends an authenticated request with a JSON body as given.
func (s *vigilServer) sendRaw(t *testing.T, method, path string, body io.Reader) ([]byte, int) {
	t.Helper()
	req, _ := http.NewRequest(method, s.url+path, body)
	req.Header.Set("Authorization", "Bearer "+s.apiToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b, resp.StatusCode
}

func (s *vigilServer) createMonitor(t *testing.T, m map[string]any) {
	t.Helper()
	b, code := s.send(t, "POST", "/api/monitors", m)
	if code != http.StatusCreated {
		t.Fatalf("create monitor %v: %d %s", m["name"], code, b)
	}
}

type monitorStatus struct {
	ID     string
	State  string
	Error  string
	Series []struct {
		Key      string
		Labels   map[string]string
		State    string
		Severity string
		Message  string
		Crossing *time.Time
		Expected *float64
	}
}

func (s *vigilServer) monitor(t *testing.T, id string) monitorStatus {
	b, code := s.get(t, "/api/monitors/"+id)
	var st monitorStatus
	if code != 200 {
		t.Fatalf("get monitor %s: %d %s", id, code, b)
	}
	json.Unmarshal(b, &st)
	return st
}

type incident struct {
	ID        int64
	MonitorID string `json:"monitor_id"`
	Labels    map[string]string
	Severity  string
	Started   time.Time
	Ended     *time.Time
	Peak      float64
	Message   string
}

func (s *vigilServer) incidents(t *testing.T, monitor string) []incident {
	b, _ := s.get(t, "/api/incidents?monitor="+monitor)
	var ins []incident
	json.Unmarshal(b, &ins)
	return ins
}

// checkGraph decodes the mail's inline graph, saves it and checks that it is
// a real chart: the right size with series pixels on it.
func checkGraph(t *testing.T, m smtptest.Message, name string) {
	t.Helper()
	if !strings.Contains(m.HTML, `src="cid:graph.png"`) {
		t.Fatalf("mail HTML does not reference the graph: %s", m.HTML)
	}
	for _, p := range m.Parts {
		if p.ContentID != "graph.png" {
			continue
		}
		img, err := png.Decode(bytes.NewReader(p.Data))
		if err != nil {
			t.Fatalf("inline graph is not a PNG: %v", err)
		}
		os.WriteFile(filepath.Join(artifactDir(t), name), p.Data, 0o644)
		b := img.Bounds()
		blue := 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl, _ := img.At(x, y).RGBA()
				if r>>8 == 9 && g>>8 == 105 && bl>>8 == 218 {
					blue++
				}
			}
		}
		if b.Dx() != 720 || b.Dy() != 260 || blue < 100 {
			t.Fatalf("graph %dx%d with %d series pixels", b.Dx(), b.Dy(), blue)
		}
		return
	}
	t.Fatalf("no inline graph part; parts: %d", len(m.Parts))
}

// TestMonitorsCPUThresholdMail: a pod in the cluster whose CPU rises trips a
// threshold monitor; the alert mail with its graph and then the resolve mail
// reach a real SMTP server.
func TestMonitorsCPUThresholdMail(t *testing.T) {
	mail := smtptest.Start(t)
	c := cluster.StartForTest(t, cluster.Options{})
	ctx := ctxTimeout(t, 8*time.Minute)
	if _, err := c.CreateFakeNode(ctx, "kwok-mon-0", nil); err != nil {
		t.Fatal(err)
	}
	cs := c.Clientset()
	const ns = "shop-mon"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "burner", Namespace: ns}, Spec: corev1.PodSpec{
		NodeSelector: map[string]string{"kubernetes.io/hostname": "kwok-mon-0"},
		Tolerations:  []corev1.Toleration{cluster.KwokToleration},
		Containers:   []corev1.Container{{Name: "app", Image: "busybox:1.36"}},
	}}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "pod running", 90*time.Second, func() (bool, string) {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, "burner", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return p.Status.Phase == corev1.PodRunning, string(p.Status.Phase)
	})

	s := startServer(t, "--kubeconfig", c.Kubeconfig, "--smtp-host", mail.Host, "--smtp-port", strconv.Itoa(mail.Port),
		"--smtp-tls", "none", "--smtp-from", "vigil@example.com", "--external-url", "http://vigil.example.com")
	waitFor(t, "the pod in vigil's inventory", 60*time.Second, func() (bool, string) {
		b, _ := s.get(t, "/api/pods")
		return bytes.Contains(b, []byte(`"burner"`)), string(b)
	})

	// The container's CPU counter, pushed every second like a scraper would.
	var mu sync.Mutex
	rate := 0.05 // cores
	total := 100.0
	last := time.Now()
	everySecond(t, func(now time.Time) {
		mu.Lock()
		total += rate * now.Sub(last).Seconds()
		mu.Unlock()
		last = now
		_ = s.tryRemoteWrite([]prompb.TimeSeries{series("container_cpu_usage_seconds_total",
			map[string]string{"namespace": ns, "pod": "burner", "container": "app", "node": "kwok-mon-0"},
			prompb.Sample{Timestamp: now.UnixMilli(), Value: total})})
	})
	setRate := func(r float64) { mu.Lock(); rate = r; mu.Unlock() }

	s.createMonitor(t, map[string]any{
		"id": "pod-cpu", "name": "Pod CPU high", "kind": "threshold",
		"query":   `sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{namespace="` + ns + `"}[20s]))`,
		"warning": 0.5, "critical": 0.8, "interval": "2s", "for": "6s", "resolve_for": "4s",
		"notify": map[string]any{"email": []string{"oncall@example.com"}},
	})
	time.Sleep(25 * time.Second)
	if st := s.monitor(t, "pod-cpu"); st.State != "ok" || len(st.Series) != 1 || st.Series[0].Labels["pod"] != "burner" {
		t.Fatalf("at low CPU the monitor is %+v", st)
	}
	setRate(0.95)
	alert := mail.Wait(t, 90*time.Second, func(m smtptest.Message) bool {
		return strings.HasPrefix(m.Subject, "[CRITICAL] Pod CPU high") && strings.Contains(m.Subject, "pod=burner")
	})
	if alert.To[0] != "oncall@example.com" || !strings.Contains(alert.HTML, "http://vigil.example.com/monitors/pod-cpu") {
		t.Errorf("alert mail to %v, html %s", alert.To, alert.HTML)
	}
	checkGraph(t, alert, "TestMonitorsCPUThresholdMail-alert-graph.png")
	ins := s.incidents(t, "pod-cpu")
	if len(ins) != 1 || ins[0].Ended != nil || ins[0].Labels["namespace"] != ns || ins[0].Peak < 0.8 {
		t.Fatalf("open incidents %+v", ins)
	}
	setRate(0.05)
	resolved := mail.Wait(t, 90*time.Second, func(m smtptest.Message) bool { return strings.HasPrefix(m.Subject, "[RESOLVED] Pod CPU high") })
	checkGraph(t, resolved, "TestMonitorsCPUThresholdMail-resolve-graph.png")
	ins = s.incidents(t, "pod-cpu")
	if len(ins) != 1 || ins[0].Ended == nil {
		t.Fatalf("incident not closed: %+v", ins)
	}
	b, _ := s.get(t, "/api/monitors/pod-cpu/notifications")
	var ns2 []struct{ Event, Status, Channel string }
	json.Unmarshal(b, &ns2)
	if len(ns2) != 2 || ns2[0].Event != "resolve" || ns2[0].Status != "sent" || ns2[1].Event != "alert" || ns2[1].Status != "sent" {
		t.Fatalf("notification log %s", b)
	}
	// Exactly one alert and one resolve mail: no duplicates.
	if n := len(mail.Messages()); n != 2 {
		t.Fatalf("%d mails, want 2", n)
	}
}

// seasonal is a daily rhythm with noise; deterministic per seed.
func seasonal(t time.Time, r *rand.Rand) float64 {
	day := float64(t.Unix()%86400) / 86400
	return 200 + 80*math.Sin(2*math.Pi*day) + r.NormFloat64()*6
}

// TestMonitorsForecastAndAnomaly: history is written through remote-write
// with old timestamps (oldest first, as a backfill would), then live values.
// A linearly growing disk triggers a forecast alert naming the day it fills;
// a seasonal series with a spike triggers an anomaly alert while its twin
// without the spike stays quiet.
func TestMonitorsForecastAndAnomaly(t *testing.T) {
	mail := smtptest.Start(t)
	s := startServer(t, "--smtp-host", mail.Host, "--smtp-port", strconv.Itoa(mail.Port), "--smtp-tls", "none")
	now := time.Now()
	start := now.Add(-7 * 24 * time.Hour)
	const perDay = 4.0 // disk grows 4 %/day
	diskAt := func(t time.Time) float64 { return 50 + perDay*t.Sub(start).Hours()/24 }
	rClean, rSpike := rand.New(rand.NewPCG(1, 2)), rand.New(rand.NewPCG(3, 4))
	// 7 days at 2-minute resolution, one request per 6 hours of data.
	step := 2 * time.Minute
	for from := start; from.Before(now.Add(-time.Minute)); from = from.Add(6 * time.Hour) {
		var disk, clean, spiky []prompb.Sample
		for ts := from; ts.Before(from.Add(6*time.Hour)) && ts.Before(now.Add(-time.Minute)); ts = ts.Add(step) {
			ms := ts.UnixMilli()
			disk = append(disk, prompb.Sample{Timestamp: ms, Value: diskAt(ts) + rClean.NormFloat64()*0.3})
			clean = append(clean, prompb.Sample{Timestamp: ms, Value: seasonal(ts, rClean)})
			spiky = append(spiky, prompb.Sample{Timestamp: ms, Value: seasonal(ts, rSpike)})
		}
		s.remoteWrite(t, []prompb.TimeSeries{
			series("vigil_test_disk_used_percent", map[string]string{"node": "db-1", "mountpoint": "/data"}, disk...),
			series("vigil_test_requests_rate", map[string]string{"service": "checkout"}, clean...),
			series("vigil_test_requests_rate", map[string]string{"service": "checkout-spike"}, spiky...),
		})
	}
	waitFor(t, "history queryable", 30*time.Second, func() (bool, string) {
		r := s.promVector(t, `count_over_time(vigil_test_requests_rate[8d])`)
		ok := len(r) == 2
		for _, x := range r {
			ok = ok && x.Value[1] == "5040"
		}
		return ok, fmt.Sprint(r)
	})

	// Live values every second from now on.
	var mu sync.Mutex
	spike := false
	everySecond(t, func(ts time.Time) {
		mu.Lock()
		sp := spike
		mu.Unlock()
		v := seasonal(ts, rSpike)
		if sp {
			v += 400
		}
		ms := ts.UnixMilli()
		_ = s.tryRemoteWrite([]prompb.TimeSeries{
			series("vigil_test_disk_used_percent", map[string]string{"node": "db-1", "mountpoint": "/data"}, prompb.Sample{Timestamp: ms, Value: diskAt(ts)}),
			series("vigil_test_requests_rate", map[string]string{"service": "checkout"}, prompb.Sample{Timestamp: ms, Value: seasonal(ts, rClean)}),
			series("vigil_test_requests_rate", map[string]string{"service": "checkout-spike"}, prompb.Sample{Timestamp: ms, Value: v}),
		})
	})

	s.createMonitor(t, map[string]any{
		"id": "disk-full", "name": "Disk full soon", "kind": "forecast", "query": "vigil_test_disk_used_percent",
		"critical": 90, "horizon": "14d", "training": "7d", "interval": "5s",
		"notify": map[string]any{"email": []string{"storage@example.com"}},
	})
	s.createMonitor(t, map[string]any{
		"id": "checkout-anomaly", "name": "Checkout traffic anomaly", "kind": "anomaly", "query": "vigil_test_requests_rate",
		"training": "7d", "interval": "2s", "for": "6s",
		"notify": map[string]any{"email": []string{"shop@example.com"}},
	})

	t.Run("forecast names the day the disk fills", func(t *testing.T) {
		// 50 % + 4 %/day from 7 days ago: 78 % now, 90 % in 3 days.
		want := start.Add(time.Duration((90-50)/perDay*24) * time.Hour)
		m := mail.Wait(t, 60*time.Second, func(m smtptest.Message) bool { return strings.Contains(m.Subject, "Disk full soon") })
		st := s.monitor(t, "disk-full")
		if len(st.Series) != 1 || st.Series[0].Crossing == nil {
			t.Fatalf("forecast state %+v", st)
		}
		got := *st.Series[0].Crossing
		lead := want.Sub(now)
		if d := got.Sub(want); math.Abs(float64(d)) > 0.1*float64(lead) {
			t.Fatalf("predicted crossing %s, true %s: off by %s (more than 10%% of %s)", got, want, d, lead)
		}
		day := got.UTC().Format("2006-01-02")
		if !strings.Contains(m.Text, day) || !strings.Contains(m.HTML, day) {
			t.Fatalf("mail does not name the day %s: %s", day, m.Text)
		}
		checkGraph(t, m, "TestMonitorsForecastAndAnomaly-forecast-graph.png")
		t.Logf("predicted %s, true %s (%s ahead)", got.UTC(), want.UTC(), lead.Round(time.Hour))
	})

	t.Run("seasonal series: quiet without a spike, alert with one", func(t *testing.T) {
		time.Sleep(20 * time.Second)
		st := s.monitor(t, "checkout-anomaly")
		if st.Error != "" || len(st.Series) != 2 {
			t.Fatalf("anomaly monitor %+v", st)
		}
		for _, sr := range st.Series {
			if sr.State != "ok" || sr.Expected == nil {
				t.Fatalf("before the spike, series %s is %s (%s)", sr.Key, sr.State, sr.Message)
			}
		}
		mu.Lock()
		spike = true
		mu.Unlock()
		m := mail.Wait(t, 60*time.Second, func(m smtptest.Message) bool { return strings.Contains(m.Subject, "Checkout traffic anomaly") })
		if !strings.Contains(m.Subject, "service=checkout-spike") || !strings.Contains(m.Text, "normal band") {
			t.Fatalf("anomaly mail %q: %s", m.Subject, m.Text)
		}
		checkGraph(t, m, "TestMonitorsForecastAndAnomaly-anomaly-graph.png")
		time.Sleep(10 * time.Second)
		ins := s.incidents(t, "checkout-anomaly")
		if len(ins) != 1 || ins[0].Labels["service"] != "checkout-spike" || !strings.Contains(ins[0].Message, "expected") {
			t.Fatalf("incidents %+v", ins)
		}
		for _, sr := range s.monitor(t, "checkout-anomaly").Series {
			if sr.Labels["service"] == "checkout" && sr.State != "ok" {
				t.Fatalf("the series without the spike is %s: %s", sr.State, sr.Message)
			}
		}
	})
	t.Run("UI", func(t *testing.T) { checkMonitorsUI(t, s) })

	t.Run("a restart keeps open incidents and sends nothing again", func(t *testing.T) {
		if b, code := s.send(t, "DELETE", "/api/monitors/disk-from-the-form", nil); code != http.StatusNoContent {
			t.Fatalf("delete the form's monitor: %d %s", code, b)
		}
		waitFor(t, "every notification delivered", 30*time.Second, func() (bool, string) {
			b, _ := s.get(t, "/api/notifications")
			var ns []struct{ Status string }
			json.Unmarshal(b, &ns)
			for _, n := range ns {
				if n.Status != "sent" {
					return false, string(b)
				}
			}
			return len(ns) >= 3, string(b)
		})
		before := len(mail.Messages())
		open := func() int {
			b, _ := s.get(t, "/api/incidents?open=1")
			var ins []incident
			json.Unmarshal(b, &ins)
			return len(ins)
		}
		if n := open(); n != 2 {
			t.Fatalf("%d open incidents before the restart, want 2 (anomaly, forecast)", n)
		}
		s.stop(syscall.SIGTERM)
		s.restart(t)
		// Several evaluation rounds (2 s and 5 s intervals) after the restart.
		time.Sleep(15 * time.Second)
		st := s.monitor(t, "checkout-anomaly")
		if st.State != "alerting" || st.Error != "" {
			t.Fatalf("after restart the anomaly monitor is %s (%s)", st.State, st.Error)
		}
		if n := open(); n != 2 {
			t.Fatalf("%d open incidents after the restart, want 2", n)
		}
		if n := len(mail.Messages()); n != before {
			t.Fatalf("the restart sent %d more mails", n-before)
		}
	})
}

// everySecond calls fn from a goroutine once a second, like a scraper pushing
// live samples, until the test ends.
func everySecond(t *testing.T, fn func(now time.Time)) {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				fn(now)
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}

// checkMonitorsUI walks the monitors pages in Chromium: list, detail with the
// band and the incident, the form's live forecast preview (then creates the
// monitor through it), and the incidents page; screenshots go to test/artifacts.
func checkMonitorsUI(t *testing.T, s *vigilServer) {
	t.Helper()
	b := openBrowser(t, s, withViewport(1400, 1000), withTimeout(3*time.Minute))
	waitText := func(sel, want string) {
		t.Helper()
		waitFor(t, sel+" shows "+want, 30*time.Second, func() (bool, string) {
			got := b.visibleText(sel) // rendered text, as a user sees it
			return strings.Contains(got, want), got
		})
	}
	b.do("monitor list", chromedp.Click(chromedp.ID("nav-monitors")), chromedp.WaitVisible(chromedp.ID("mon-list")))
	waitText("#mon-list", "Checkout traffic anomaly")
	waitText(`#mon-list tr[data-monitor="checkout-anomaly"]`, "critical")
	waitText("#mon-summary", "2 alerting") // the anomaly and the disk forecast
	b.shot("list.png")

	b.do("monitor detail", chromedp.Click(chromedp.CSS(`tr[data-monitor="checkout-anomaly"] a`)), chromedp.WaitVisible(chromedp.ID("mon-incidents")))
	waitText("#mon-incidents", "service=checkout-spike")
	waitText("#mon-notifications", "sent")
	waitText("#mon-series", "normal band")
	b.do("band chart", chromedp.WaitVisible(chromedp.CSS("#mon-detail-chart .u-over")))
	if got := b.visibleText("#mon-detail-chart .u-legend"); !strings.Contains(got, "upper") {
		t.Fatalf("detail chart legend has no band: %q", got)
	}
	b.shot("detail-anomaly.png")

	b.do("new monitor form", chromedp.Navigate(s.url+"/monitors/new"), chromedp.WaitVisible(chromedp.ID("mon-form")),
		chromedp.SendKeys(chromedp.ID("mon-name"), "Disk from the form"),
		chromedp.SetValue(chromedp.ID("mon-kind"), "forecast"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('mon-kind').dispatchEvent(new Event('change', {bubbles: true}))`),
		chromedp.SendKeys(chromedp.ID("mon-query"), "vigil_test_disk_used_percent"),
		chromedp.SendKeys(chromedp.ID("mon-critical"), "90"),
		chromedp.SendKeys(chromedp.ID("mon-horizon"), "14d"),
		chromedp.SendKeys(chromedp.ID("mon-email"), "disk@example.com"))
	waitText("#mon-preview", "predicted to cross")
	b.do("preview chart", chromedp.WaitVisible(chromedp.CSS("#mon-preview .u-over")))
	b.shot("form-forecast-preview.png")
	b.do("save", chromedp.Click(chromedp.ID("mon-save")), chromedp.WaitVisible(chromedp.ID("mon-facts")))
	waitText("#mon-facts", "disk@example.com")
	st := s.monitor(t, "disk-from-the-form")
	if st.ID != "disk-from-the-form" {
		t.Fatalf("monitor created through the form: %+v", st)
	}
	b.shot("detail-forecast.png")

	b.do("incidents page", chromedp.Navigate(s.url+"/monitors/incidents"), chromedp.WaitVisible(chromedp.ID("incidents-list")))
	waitText("#incidents-list", "Checkout traffic anomaly")
	waitText("#incidents-list", "Disk full soon")
	b.shot("incidents.png")
}
