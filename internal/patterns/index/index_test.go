package index

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vigil/internal/patterns"
	"vigil/internal/patterns/loggen"
	"vigil/internal/store/logs"
	"vigil/internal/store/state"
)

func openState(t *testing.T, dir string) *state.Store {
	t.Helper()
	st, err := state.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func openLogs(t *testing.T) *logs.Embedded {
	t.Helper()
	s, err := logs.OpenEmbedded(logs.Options{Dir: filepath.Join(t.TempDir(), "logs"), MemoryAllowedBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func record(t time.Time, ns, pod, container, msg string) logs.Record {
	return logs.Record{Time: t, Fields: []logs.Field{
		{Name: "namespace", Value: ns}, {Name: "pod", Value: pod}, {Name: "container", Value: container},
		{Name: "node", Value: "node-1"}, {Name: "_msg", Value: msg},
	}}
}

func get(t *testing.T, x *Index, params url.Values) (*Result, int, string) {
	t.Helper()
	mux := http.NewServeMux()
	x.Register(mux, func(h http.Handler) http.Handler { return h })
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/api/patterns?"+params.Encode(), nil))
	if rec.Code != 200 {
		return nil, rec.Code, rec.Body.String()
	}
	var res Result
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	return &res, rec.Code, ""
}

// byTemplateIndex maps each returned pattern to the generator template of its sample.
type window struct {
	lines []loggen.Line
	count map[int]int
}

func gen(set *loggen.Set, seed uint64, n int) window {
	w := window{lines: loggen.New(set, seed).Lines(n), count: map[int]int{}}
	for _, l := range w.lines {
		w.count[l.Template]++
	}
	return w
}

// TestIndexCountsTrendAndRestart feeds two windows of generated lines and
// checks counts, shares and trends against the generator's truth, before
// and after reopening the index on the same database.
func TestIndexCountsTrendAndRestart(t *testing.T) {
	dir := t.TempDir()
	st := openState(t, dir)
	ctx := context.Background()
	x, err := Open(ctx, st.DB(), nil, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	end := time.Now().UTC().Truncate(Bucket)
	start := end.Add(-10 * time.Minute)
	set := loggen.Syslog()
	prev := gen(set, 1, 3000)
	cur := gen(set, 2, 6000)
	feed := func(w window, from time.Time, ns string) {
		var recs []logs.Record
		for i, l := range w.lines {
			ts := from.Add(time.Duration(i) * (10 * time.Minute) / time.Duration(len(w.lines)))
			recs = append(recs, record(ts, ns, "pod-a", "app", l.Text))
			if len(recs) == 500 {
				x.Observe(recs)
				x.Drain()
				recs = nil
			}
		}
		x.Observe(recs)
		x.Drain()
	}
	feed(prev, start.Add(-10*time.Minute), "shop")
	feed(cur, start, "shop")
	// Another namespace's lines must not count for a namespace filter.
	feed(gen(loggen.HDFS(), 3, 1000), start, "other")

	check := func(x *Index) {
		t.Helper()
		res, code, body := get(t, x, url.Values{"query": {`{namespace="shop"}`},
			"start": {start.Format(time.RFC3339)}, "end": {end.Add(-time.Nanosecond).Format(time.RFC3339Nano)}})
		if code != 200 {
			t.Fatalf("GET /api/patterns: %d %s", code, body)
		}
		if res.Mode != "index" {
			t.Errorf("mode %q, want index", res.Mode)
		}
		if res.Total != 6000 || res.PreviousTotal != 3000 {
			t.Errorf("total %d previous %d, want 6000 and 3000", res.Total, res.PreviousTotal)
		}
		if len(res.Patterns) != len(set.Templates) {
			t.Errorf("%d patterns, want %d", len(res.Patterns), len(set.Templates))
		}
		m := patterns.NewMiner(patterns.Options{})
		for _, p := range res.Patterns {
			// Which generator template is this? Render one fresh line of each and see which the pattern matches.
			ti := -1
			for i := range set.Templates {
				l := loggen.New(set, 99).Render(i)
				if matchesTemplate(m, p.Template, l) {
					ti = i
					break
				}
			}
			if ti < 0 {
				t.Errorf("pattern %q matches no generator template", p.Template)
				continue
			}
			if p.Count != int64(cur.count[ti]) || p.PreviousCount != int64(prev.count[ti]) {
				t.Errorf("pattern %q: count %d previous %d, want %d and %d", p.Template, p.Count, p.PreviousCount, cur.count[ti], prev.count[ti])
			}
			if want := float64(p.Count) / 6000; p.Share != want {
				t.Errorf("share %v, want %v", p.Share, want)
			}
			if p.Trend != "rising" && p.Trend != "steady" {
				t.Errorf("pattern %q trend %q (count %d vs %d)", p.Template, p.Trend, p.Count, p.PreviousCount)
			}
			if p.Sample == "" || p.FirstSeen.Before(start) || p.LastSeen.After(end) || p.LastSeen.Before(p.FirstSeen) {
				t.Errorf("pattern %q: sample %q first %v last %v", p.Template, p.Sample, p.FirstSeen, p.LastSeen)
			}
			if !strings.Contains(p.Query, `namespace:="shop"`) || !strings.Contains(p.Query, "_msg:~") {
				t.Errorf("explorer query %q", p.Query)
			}
		}
	}
	check(x)
	if err := x.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()

	st = openState(t, dir)
	defer st.Close()
	x2, err := Open(ctx, st.DB(), nil, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	check(x2)
	// New lines of known templates keep their stored ids after the restart.
	n := len(x2.info)
	x2.Observe([]logs.Record{record(end.Add(-time.Second), "shop", "pod-a", "app", loggen.New(set, 5).Render(1))})
	x2.Drain()
	if err := x2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if len(x2.info) != n {
		t.Errorf("a known template was stored again after restart: %d → %d templates", n, len(x2.info))
	}
}

// matchesTemplate reports whether line masks to something the template covers.
func matchesTemplate(_ *patterns.Miner, template, line string) bool {
	m := patterns.NewMiner(patterns.Options{})
	m.Restore(template, 0, "")
	id := m.Add(line)
	return m.Template(id).Text() == template && m.Len() == 1
}

func TestTrend(t *testing.T) {
	for _, c := range []struct {
		cur, prev int64
		want      string
	}{{5, 0, "new"}, {30, 10, "rising"}, {10, 30, "falling"}, {10, 9, "steady"}, {14, 10, "steady"}} {
		if got := trend(c.cur, c.prev); got != c.want {
			t.Errorf("trend(%d, %d) = %q, want %q", c.cur, c.prev, got, c.want)
		}
	}
}

func TestBadRequests(t *testing.T) {
	st := openState(t, t.TempDir())
	defer st.Close()
	x, err := Open(context.Background(), st.DB(), nil, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, params := range []url.Values{
		{"start": {"yesterday-ish"}},
		{"start": {"2026-01-02T00:00:00Z"}, "end": {"2026-01-01T00:00:00Z"}},
		{"query": {strings.Repeat("a", maxQueryBytes+1)}},
		{"query": {"\xff\xfe"}},
		{"limit": {"0"}},
		{"mode": {"fast"}},
		{"query": {"error"}, "mode": {"index"}},
		{"query": {`{namespace="a"} namespace:=b`}},
		{"start": {"0"}, "end": {"99999999999"}},
	} {
		if _, code, body := get(t, x, params); code != 400 {
			t.Errorf("%v: code %d (%s), want 400", params, code, body)
		}
	}
}

func TestParseStreamQuery(t *testing.T) {
	for _, c := range []struct {
		q    string
		ok   bool
		want string
	}{
		{"", true, "*"},
		{"*", true, "*"},
		{`{namespace="shop"}`, true, `namespace:="shop"`},
		{`{namespace="shop", container="app"}`, true, `namespace:="shop" container:="app"`},
		{`namespace:=shop AND pod:="web-1"`, true, `namespace:="shop" pod:="web-1"`},
		{`{namespace='a b'}`, true, `namespace:="a b"`},
		{`error`, false, ""},
		{`namespace:shop`, false, ""},
		{`{namespace!="shop"}`, false, ""},
		{`{namespace=~"sh.*"}`, false, ""},
		{`{level="error"}`, false, ""},
		{`level:=error`, false, ""},
		{`{namespace="shop"} error`, false, ""},
		{`namespace:=shop | stats count()`, false, ""},
		{`{namespace="unterminated}`, false, ""},
	} {
		f, ok, err := ParseStreamQuery(c.q)
		if err != nil {
			t.Errorf("%q: %v", c.q, err)
			continue
		}
		if ok != c.ok {
			t.Errorf("%q: ok=%v, want %v", c.q, ok, c.ok)
			continue
		}
		if ok && f.LogsQL() != c.want {
			t.Errorf("%q: %q, want %q", c.q, f.LogsQL(), c.want)
		}
	}
}

// TestFilterSelectsExactlyThePattern stores generated lines of every format
// in the real log engine and checks that each pattern's LogsQL filter finds
// as many lines as the pattern counts, and that a scan-mode request agrees.
func TestFilterSelectsExactlyThePattern(t *testing.T) {
	store := openLogs(t)
	ctx := context.Background()
	base := time.Now().UTC().Add(-30 * time.Minute)
	m := patterns.NewMiner(patterns.Options{})
	var recs []logs.Record
	i := 0
	for _, set := range loggen.Sets() {
		for _, l := range loggen.New(set, 11).Lines(600) {
			recs = append(recs, record(base.Add(time.Duration(i)*time.Millisecond), "ns-"+set.Name, "p", "c", l.Text))
			m.Add(l.Text)
			i++
		}
	}
	if err := store.Write(ctx, recs); err != nil {
		t.Fatal(err)
	}
	store.Flush()
	rng := logs.Range{Start: base.Add(-time.Minute), End: base.Add(time.Hour)}
	for _, tp := range m.Templates() {
		filter := patterns.Filter(tp.Tokens)
		n := 0
		err := store.Query(ctx, filter, rng, 0, func([]logs.Field) error { n++; return nil })
		if err != nil {
			t.Fatalf("filter %s: %v", filter, err)
		}
		if int64(n) != tp.Count {
			t.Errorf("template %q: filter finds %d lines, pattern counts %d\n  filter: %s", tp.Text(), n, tp.Count, filter)
		}
	}

	st := openState(t, t.TempDir())
	defer st.Close()
	x, err := Open(ctx, st.DB(), store, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, code, body := get(t, x, url.Values{"query": {`"Failed" OR "Invalid"`}, "start": {rng.Start.Format(time.RFC3339)}, "end": {rng.End.Format(time.RFC3339)}})
	if code != 200 {
		t.Fatalf("scan: %d %s", code, body)
	}
	if res.Mode != "scan" || len(res.Patterns) == 0 {
		t.Fatalf("mode %q with %d patterns", res.Mode, len(res.Patterns))
	}
	for _, p := range res.Patterns {
		n := 0
		if err := store.Query(ctx, p.Query, rng, 0, func([]logs.Field) error { n++; return nil }); err != nil {
			t.Fatalf("pattern query %s: %v", p.Query, err)
		}
		if int64(n) != p.Count {
			t.Errorf("scan pattern %q: explorer query finds %d, count %d", p.Template, n, p.Count)
		}
	}
	_ = fmt.Sprint
}

// TestHourlyRollup: windows of several hours, not aligned to hours, count
// exactly the lines of their minutes whether read from minutes or hours.
func TestHourlyRollup(t *testing.T) {
	st := openState(t, t.TempDir())
	defer st.Close()
	ctx := context.Background()
	x, err := Open(ctx, st.DB(), nil, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().UTC().Truncate(time.Hour).Add(-12 * time.Hour)
	var times []time.Time
	var recs []logs.Record
	for i, l := range loggen.New(loggen.Spark(), 3).Lines(12 * 60 * 3) {
		ts := t0.Add(time.Duration(i) * 20 * time.Second).Add(time.Duration(i%7) * time.Second)
		times = append(times, ts)
		recs = append(recs, record(ts, "ns", "p", "c", l.Text))
	}
	x.Observe(recs)
	x.Drain()
	if err := x.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	inMinutes := func(from, to time.Time) int64 {
		lo, hi := from.Truncate(Bucket), to.Truncate(Bucket).Add(Bucket)
		var n int64
		for _, ts := range times {
			if !ts.Before(lo) && ts.Before(hi) {
				n++
			}
		}
		return n
	}
	for _, w := range [][2]time.Duration{
		{17 * time.Minute, 4*time.Hour + 3*time.Minute},
		{6 * time.Hour, 8 * time.Hour},
		{6*time.Hour + 59*time.Minute, 9*time.Hour + 59*time.Minute + 30*time.Second},
		{10 * time.Minute, 50 * time.Minute},
	} {
		start, end := t0.Add(w[0]), t0.Add(w[1])
		res, code, body := get(t, x, url.Values{"start": {start.Format(time.RFC3339Nano)}, "end": {end.Format(time.RFC3339Nano)}})
		if code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		want := inMinutes(start, end)
		d := end.Truncate(Bucket).Sub(start.Truncate(Bucket))
		wantPrev := inMinutes(start.Truncate(Bucket).Add(-d-Bucket), start.Truncate(Bucket).Add(-Bucket))
		if res.Total != want || res.PreviousTotal != wantPrev {
			t.Errorf("window %v–%v: total %d previous %d, want %d and %d", w[0], w[1], res.Total, res.PreviousTotal, want, wantPrev)
		}
	}
}
