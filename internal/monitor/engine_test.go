package monitor

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"vigil/internal/notify"
	"vigil/internal/store/metrics"
	"vigil/internal/store/state"
	"vigil/test/smtptest"
)

type fixture struct {
	t   *testing.T
	st  *state.Store
	ms  *metrics.Embedded
	now time.Time
}

func newFixture(t *testing.T) *fixture {
	dir := t.TempDir()
	st, err := state.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ms, err := metrics.OpenEmbedded(metrics.Options{Dir: dir + "/m", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ms.Close() })
	return &fixture{t: t, st: st, ms: ms, now: time.Now().Truncate(time.Minute)}
}

func (f *fixture) engine(smtp notify.SMTPConfig) *Engine {
	e, err := Open(context.Background(), Options{DB: f.st.DB(), Metrics: f.ms, SMTP: smtp, Log: slog.New(slog.NewTextHandler(testWriter{f.t}, nil))})
	if err != nil {
		f.t.Fatal(err)
	}
	e.Now = func() time.Time { return f.now }
	return e
}

func (f *fixture) write(name string, lb map[string]string, t time.Time, v float64) {
	lb = map[string]string{"__name__": name, "pod": lb["pod"]}
	if _, err := f.ms.Write(context.Background(), []metrics.Series{{Labels: labels.FromMap(lb), Samples: []metrics.Sample{{T: t.UnixMilli(), V: v}}}}); err != nil {
		f.t.Fatal(err)
	}
}

func ptr(v float64) *float64 { return &v }

func TestThresholdLifecycleMailAndRestart(t *testing.T) {
	f := newFixture(t)
	srv := smtptest.Start(t)
	var hookMu sync.Mutex
	var hooks []map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var p map[string]any
		json.Unmarshal(b, &p)
		hookMu.Lock()
		hooks = append(hooks, p)
		hookMu.Unlock()
	}))
	defer hook.Close()
	smtp := notify.SMTPConfig{Host: srv.Host, Port: srv.Port, From: "vigil@example.com", TLS: "none"}
	e := f.engine(smtp)
	m := &Monitor{Name: "CPU high", Query: "cpu", Warning: ptr(0.5), Critical: ptr(0.8), CriticalRecovery: ptr(0.7),
		Interval: Duration(time.Minute), For: Duration(2 * time.Minute), Notify: Notify{Email: []string{"ops@example.com"}, Webhook: []string{hook.URL}}}
	if err := e.Put(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	step := func(v float64) string {
		f.write("cpu", map[string]string{"pod": "web-1"}, f.now, v)
		e.Tick(ctx, f.now)
		e.DeliverDue(ctx)
		st, _ := e.StatusOf(m.ID)
		f.now = f.now.Add(time.Minute)
		return st.State + "/" + st.Severity
	}
	for i, c := range []struct {
		v    float64
		want string
	}{{0.1, "ok/"}, {0.9, "pending/"}, {0.9, "pending/"}, {0.95, "alerting/critical"}, {0.75, "alerting/critical"}, {0.6, "alerting/warning"}} {
		if got := step(c.v); got != c.want {
			t.Fatalf("step %d (value %v): state %s, want %s", i, c.v, got, c.want)
		}
	}
	alert := srv.Wait(t, 5*time.Second, func(m smtptest.Message) bool { return strings.HasPrefix(m.Subject, "[CRITICAL] CPU high") })
	if !strings.Contains(alert.HTML, "cid:graph.png") || !strings.Contains(alert.Text, "value 0.95") {
		t.Errorf("alert mail: html %q text %q", alert.HTML, alert.Text)
	}
	var png bool
	for _, p := range alert.Parts {
		png = png || (p.ContentType == "image/png" && p.ContentID == "graph.png" && strings.HasPrefix(string(p.Data), "\x89PNG"))
	}
	if !png {
		t.Error("no inline PNG graph")
	}
	// A restart keeps the open incident and sends nothing new.
	before := len(srv.Messages())
	e2 := f.engine(smtp)
	e = e2
	if got := step(0.6); got != "alerting/warning" {
		t.Fatalf("after restart: %s", got)
	}
	if n := len(srv.Messages()); n != before {
		t.Fatalf("restart sent %d more mails", n-before)
	}
	if got := step(0.2); got != "ok/" {
		t.Fatalf("recovery: %s", got)
	}
	srv.Wait(t, 5*time.Second, func(m smtptest.Message) bool { return strings.HasPrefix(m.Subject, "[RESOLVED] CPU high") })
	ins, err := e.Store.Incidents(ctx, IncidentFilter{MonitorID: m.ID})
	if err != nil || len(ins) != 1 || ins[0].Ended == nil || ins[0].Peak != 0.95 || ins[0].Labels["pod"] != "web-1" {
		t.Fatalf("incidents %+v %v", ins, err)
	}
	hookMu.Lock()
	defer hookMu.Unlock()
	if len(hooks) != 2 || hooks[0]["status"] != "firing" || hooks[1]["status"] != "resolved" || hooks[0]["version"] != "4" {
		t.Fatalf("webhooks %v", hooks)
	}
}

func TestDeliveryRetriesAndMute(t *testing.T) {
	f := newFixture(t)
	fail := true
	var calls int
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if fail {
			http.Error(w, "down", http.StatusBadGateway)
		}
	}))
	defer hook.Close()
	e := f.engine(notify.SMTPConfig{})
	m := &Monitor{Name: "up", Query: "up", Op: "below", Critical: ptr(1), Interval: Duration(time.Minute), Notify: Notify{Slack: []string{hook.URL}}}
	if err := e.Put(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	f.write("up", map[string]string{"pod": "a"}, f.now, 0)
	e.Tick(ctx, f.now)
	e.DeliverDue(ctx)
	ns, _ := e.Store.Notifications(ctx, m.ID, 0, 10)
	if len(ns) != 1 || ns[0].Status != "pending" || ns[0].Attempts != 1 || !strings.Contains(ns[0].Error, "502") {
		t.Fatalf("after a failed delivery: %+v", ns)
	}
	fail = false
	f.now = f.now.Add(backoff(1))
	e.DeliverDue(ctx)
	ns, _ = e.Store.Notifications(ctx, m.ID, 0, 10)
	if ns[0].Status != "sent" || ns[0].Attempts != 2 || calls != 2 {
		t.Fatalf("after retry: %+v calls %d", ns, calls)
	}
	// Muted: the resolve is recorded as suppressed, not sent.
	until := f.now.Add(time.Hour)
	m2 := *m
	m2.Notify.MutedUntil = &until
	if err := e.Put(ctx, &m2); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Minute)
	f.write("up", map[string]string{"pod": "a"}, f.now, 1)
	e.Tick(ctx, f.now)
	e.DeliverDue(ctx)
	ns, _ = e.Store.Notifications(ctx, m.ID, 0, 10)
	if len(ns) != 2 || ns[0].Event != "resolve" || ns[0].Status != "suppressed" || calls != 2 {
		t.Fatalf("muted resolve: %+v calls %d", ns, calls)
	}
}

func TestBackoffGrowsAndCaps(t *testing.T) {
	if backoff(1) != 10*time.Second || backoff(2) != 20*time.Second || backoff(30) != maxBackoff {
		t.Fatal(backoff(1), backoff(2), backoff(30))
	}
}

func TestNormalizeRejectsBadDefinitions(t *testing.T) {
	e := &Engine{}
	cases := map[string]Monitor{
		"no name":       {Query: "up", Critical: ptr(1)},
		"bad promql":    {Name: "x", Query: "up{", Critical: ptr(1)},
		"no threshold":  {Name: "x", Query: "up"},
		"bad kind":      {Name: "x", Query: "up", Kind: "magic", Critical: ptr(1)},
		"bad email":     {Name: "x", Query: "up", Critical: ptr(1), Notify: Notify{Email: []string{"nope"}}},
		"bad webhook":   {Name: "x", Query: "up", Critical: ptr(1), Notify: Notify{Webhook: []string{"ftp://x"}}},
		"bad template":  {Name: "x", Query: "up", Critical: ptr(1), Notify: Notify{Subject: "{{.Nope}}"}},
		"bad sense":     {Name: "x", Query: "up", Kind: KindAnomaly, Sensitivity: "extreme"},
		"invalid utf8":  {Name: "x\xff", Query: "up", Critical: ptr(1)},
		"bad id":        {ID: "Has Space", Name: "x", Query: "up", Critical: ptr(1)},
		"tiny interval": {Name: "x", Query: "up", Critical: ptr(1), Interval: Duration(time.Millisecond)},
	}
	for name, m := range cases {
		if err := e.Validate(&m); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	ok := Monitor{Name: "Disk Full Soon!", Kind: KindForecast, Query: "disk_used", Critical: ptr(90)}
	if err := e.Validate(&ok); err != nil || ok.ID != "disk-full-soon" || ok.Horizon.D() != 7*24*time.Hour {
		t.Fatalf("valid forecast: %v %+v", err, ok)
	}
}

func TestMaintenanceWindow(t *testing.T) {
	start := time.Date(2026, 1, 5, 22, 0, 0, 0, time.UTC)
	w := Window{Start: start, End: start.Add(2 * time.Hour), Repeat: "daily"}
	for _, c := range []struct {
		t    time.Time
		want bool
	}{{start.Add(-time.Minute), false}, {start, true}, {start.Add(3 * 24 * time.Hour).Add(time.Hour), true}, {start.Add(3*24*time.Hour + 3*time.Hour), false}} {
		if got := w.Contains(c.t); got != c.want {
			t.Errorf("%v: %v", c.t, got)
		}
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
