package monitortest

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"vigil/internal/monitor"
	"vigil/internal/store/metrics"
	"vigil/internal/store/state"
)

// Run executes a script against a real embedded metrics store and SQLite
// state, with the engine's clock moved by the script.
func Run(t testing.TB, src string) {
	t.Helper()
	sc, err := Parse(src)
	if err != nil {
		t.Fatalf("parse script: %v", err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	quiet := slog.New(slog.DiscardHandler)
	st, err := state.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ms, err := metrics.OpenEmbedded(metrics.Options{Dir: dir + "/metrics", Logger: quiet, Retention: 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close()
	// One write: the head takes every series from its first sample on.
	if len(sc.Series) > 0 {
		if ws, err := ms.Write(ctx, sc.Series); err != nil || ws.Rejected > 0 {
			t.Fatalf("load series: %v (%d samples rejected)", err, ws.Rejected)
		}
	}
	e, err := monitor.Open(ctx, monitor.Options{DB: st.DB(), Metrics: ms, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	now := Start
	e.Now = func() time.Time { return now }
	m := sc.Monitor
	if err := e.Put(ctx, m); err != nil {
		t.Fatalf("monitor: %v", err)
	}
	interval := m.Interval.D()
	next := time.Duration(0)
	for _, ev := range sc.Evals {
		for ; next <= ev.At; next += interval {
			now = Start.Add(next)
			e.Tick(ctx, now)
		}
		status, _ := e.StatusOf(m.ID)
		if status.Error != "" {
			t.Errorf("line %d: evaluation error: %s", ev.Line, status.Error)
		}
		for _, c := range ev.Checks {
			if msg := check(ctx, e, status, c, ev.At); msg != "" {
				t.Errorf("line %d (eval %s): %s", c.Line, ev.At, msg)
			}
		}
	}
}

func matches(lb, want map[string]string) bool {
	for k, v := range want {
		if lb[k] != v {
			return false
		}
	}
	return true
}

func check(ctx context.Context, e *monitor.Engine, st monitor.Status, c Check, at time.Duration) string {
	switch c.Kind {
	case "notifications":
		ns, err := e.Store.Notifications(ctx, st.ID, 0, 1000)
		if err != nil {
			return err.Error()
		}
		if len(ns) != c.N {
			var evs []string
			for _, n := range ns {
				evs = append(evs, n.Event)
			}
			return fmt.Sprintf("%d notifications %v, want %d", len(ns), evs, c.N)
		}
		return ""
	case "incidents":
		ins, err := e.Store.Incidents(ctx, monitor.IncidentFilter{MonitorID: st.ID, Limit: 1000})
		if err != nil {
			return err.Error()
		}
		open := 0
		for _, in := range ins {
			if in.Ended == nil {
				open++
			}
		}
		if len(ins) != c.N || (c.Open >= 0 && open != c.Open) {
			return fmt.Sprintf("%d incidents (%d open), want %d (%d open)", len(ins), open, c.N, c.Open)
		}
		return ""
	}
	var found []monitor.SeriesStatus
	for _, s := range st.Series {
		if matches(s.Labels, c.Match) {
			found = append(found, s)
		}
	}
	if c.Kind == "state" && c.State == "absent" {
		if len(found) > 0 {
			return fmt.Sprintf("series %v exists (%s)", c.Match, found[0].State)
		}
		return ""
	}
	if len(found) != 1 {
		var keys []string
		for _, s := range st.Series {
			keys = append(keys, s.Key)
		}
		return fmt.Sprintf("%d series match %v; series: %s", len(found), c.Match, strings.Join(keys, " "))
	}
	s := found[0]
	switch c.Kind {
	case "state":
		if s.State != c.State || (c.Severity != "" && s.Severity != c.Severity) {
			return fmt.Sprintf("%v is %s %s (%s), want %s %s", c.Match, s.State, s.Severity, s.Message, c.State, c.Severity)
		}
	case "message":
		if !strings.Contains(s.Message, c.Text) {
			return fmt.Sprintf("message %q does not contain %q", s.Message, c.Text)
		}
	case "crossing":
		if s.Crossing == nil {
			return fmt.Sprintf("%v has no predicted crossing (%s)", c.Match, s.Message)
		}
		got := s.Crossing.Sub(Start)
		lead := float64(c.At - at)
		if math.Abs(float64(got-c.At)) > c.Tol*math.Abs(lead) {
			return fmt.Sprintf("crossing at %s, want %s ± %.0f%% of the %s ahead", got, c.At, 100*c.Tol, time.Duration(lead))
		}
	}
	return ""
}
