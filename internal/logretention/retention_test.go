package logretention

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"vigil/internal/store/logs"
)

func TestFilter(t *testing.T) {
	for glob, want := range map[string]string{
		"kube-system": `namespace:="kube-system"`,
		"dev-*":       `namespace:~"^dev-.*$"`,
		"team?.a":     `namespace:~"^team.\\.a$"`,
	} {
		if got := Filter(glob); got != want {
			t.Errorf("Filter(%q) = %s, want %s", glob, got, want)
		}
	}
}

func TestParse(t *testing.T) {
	rules, err := Parse(map[string]string{"a": "2d", "b": "36h", "c": "30d"}, 7*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 3 || rules[0].Retention != 48*time.Hour || rules[1].Retention != 36*time.Hour || !rules[2].Capped || rules[0].Capped {
		t.Fatalf("rules = %+v", rules)
	}
	for _, bad := range []string{"10m", "2w", "", "-1d"} {
		if _, err := Parse(map[string]string{"a": bad}, 0); err == nil {
			t.Errorf("retention %q accepted", bad)
		}
	}
}

// TestEnforce deletes old rows of the namespaces with a short retention in
// the real log store, and nothing else.
func TestEnforce(t *testing.T) {
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := logs.OpenEmbedded(logs.Options{Dir: t.TempDir(), Retention: 7 * 24 * time.Hour, Logger: quiet, MemoryAllowedBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Now()
	var recs []logs.Record
	for _, ns := range []string{"short", "keep", "dev-a", "dev-b"} {
		for i, age := range []time.Duration{72 * time.Hour, 50 * time.Hour, 2 * time.Hour, time.Minute} {
			recs = append(recs, logs.Record{Time: now.Add(-age), Fields: []logs.Field{
				{Name: "_msg", Value: "line " + strconv.Itoa(i)}, {Name: "namespace", Value: ns}, {Name: "pod", Value: "p"}, {Name: "container", Value: "c"}}})
		}
	}
	if err := store.Write(ctx, recs); err != nil {
		t.Fatal(err)
	}
	store.Flush()
	count := func(ns string) int {
		n := 0
		err := store.Query(ctx, Filter(ns), logs.Range{}, 0, func([]logs.Field) error { n++; return nil })
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, ns := range []string{"short", "keep", "dev-a"} {
		if n := count(ns); n != 4 {
			t.Fatalf("%s has %d rows before, want 4", ns, n)
		}
	}
	e := &Enforcer{Rules: func() map[string]string { return map[string]string{"short": "1d", "dev-*": "60h", "keep": "30d"} },
		Store: store, Global: 7 * 24 * time.Hour, Log: quiet}
	if err := e.Once(ctx, now); err != nil {
		t.Fatal(err)
	}
	if st := e.Status(ctx); st.Started != 2 || st.Default != "7d" || len(st.Rules) != 3 {
		t.Fatalf("status = %+v", st)
	}
	deadline := time.Now().Add(60 * time.Second)
	for store.PendingDeletes(ctx) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("deletions still pending after 60 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// short keeps the last day (2 rows); dev-* the last 60 h (3 rows); keep all.
	for ns, want := range map[string]int{"short": 2, "dev-a": 3, "dev-b": 3, "keep": 4} {
		if n := count(ns); n != want {
			t.Errorf("%s has %d rows after, want %d", ns, n, want)
		}
	}
	// A second run while nothing is pending starts the deletions again (idempotent).
	if err := e.Once(ctx, now); err != nil {
		t.Fatal(err)
	}
	// Bad rules are reported, not applied.
	bad := &Enforcer{Rules: func() map[string]string { return map[string]string{"x": "5m"} }, Store: store, Global: time.Hour}
	if err := bad.Once(ctx, now); err == nil || bad.Status(ctx).LastError == "" {
		t.Fatalf("bad rule: err %v, status %+v", err, bad.Status(ctx))
	}
}
