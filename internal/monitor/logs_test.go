package monitor

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"vigil/internal/events"
	"vigil/internal/notify"
	"vigil/internal/store/logs"
)

func TestLogAndEventMonitors(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	ls, err := logs.OpenEmbedded(logs.Options{Dir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Close()
	es, err := logs.OpenEmbedded(logs.Options{Dir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer es.Close()
	ev := events.New(es)
	e := f.engine(notify.SMTPConfig{})
	e.Logs, e.Events = ls, ev
	e.RecordIncidentEvents(ev)
	f.now = time.Now().Truncate(time.Second)

	var recs []logs.Record
	for i := range 12 {
		pod := "api-1"
		if i%3 == 0 {
			pod = "api-2"
		}
		recs = append(recs, logs.Record{Time: f.now.Add(-time.Duration(i) * time.Second), Fields: []logs.Field{
			{Name: "_msg", Value: "request failed: timeout"}, {Name: "level", Value: "error"}, {Name: "namespace", Value: "shop"}, {Name: "pod", Value: pod}, {Name: "container", Value: "app"}}})
	}
	if err := ls.Write(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if err := ev.Record(ctx, events.Event{Time: f.now.Add(-time.Minute), Type: events.Warning, Source: "kubernetes", Reason: "OOMKilled",
		Message: "container app was OOM killed", Namespace: "shop", Kind: "Pod", Name: "api-1"}); err != nil {
		t.Fatal(err)
	}
	logMon := &Monitor{ID: "errors", Name: "API errors", Kind: KindLog, Query: `level:error "request failed"`, GroupBy: []string{"pod"},
		Critical: ptr(5), Window: Duration(5 * time.Minute), Interval: Duration(time.Minute)}
	evMon := &Monitor{ID: "oom", Name: "OOM kills", Kind: KindEvent, Events: &EventFilter{Reasons: []string{"OOMKilled"}},
		GroupBy: []string{"namespace", "name"}, Interval: Duration(time.Minute)}
	for _, m := range []*Monitor{logMon, evMon} {
		if err := e.Put(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	// The log store makes fresh rows searchable after a short delay.
	deadline := time.Now().Add(60 * time.Second)
	for {
		e.Tick(ctx, f.now)
		lst, _ := e.StatusOf("errors")
		est, _ := e.StatusOf("oom")
		if lst.State == StateAlerting && est.State == StateAlerting {
			bySeries := map[string]SeriesStatus{}
			for _, s := range lst.Series {
				bySeries[s.Labels["pod"]] = s
			}
			if bySeries["api-1"].State != StateAlerting || bySeries["api-1"].Value != 8 || bySeries["api-2"].State != StateOK || bySeries["api-2"].Value != 4 {
				t.Fatalf("log monitor series %+v", lst.Series)
			}
			if len(est.Series) != 1 || est.Series[0].Labels["name"] != "api-1" || est.Series[0].Value != 1 {
				t.Fatalf("event monitor series %+v", est.Series)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("log monitor %s (%s), event monitor %s (%s)", lst.State, lst.Error, est.State, est.Error)
		}
		f.now = f.now.Add(time.Second)
		time.Sleep(500 * time.Millisecond)
	}
	// Incidents became events too (and the event monitor does not count them).
	deadline = time.Now().Add(60 * time.Second)
	for {
		got, err := ev.Find(ctx, events.Filter{Sources: []string{"vigil/monitor"}})
		if err == nil && len(got) == 2 {
			if got[0].Reason != "MonitorAlert" || got[0].Type != events.Warning {
				t.Fatalf("incident event %+v", got[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("incident events: %d, %v", len(got), err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
