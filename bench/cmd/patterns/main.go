// Command patterns measures the log template miner: throughput (lines per
// second on one core) and grouping accuracy on each labelled generator set,
// memory and template bounds under unbounded variety, and the online index
// (mining plus SQLite counts) as the server runs it.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"vigil/internal/patterns"
	"vigil/internal/patterns/index"
	"vigil/internal/patterns/loggen"
	"vigil/internal/store/logs"
	"vigil/internal/store/state"
)

func main() {
	lines := flag.Int("lines", 200_000, "lines per labelled set")
	runs := flag.Int("runs", 3, "throughput runs per set (the best is reported)")
	flag.Parse()
	runtime.GOMAXPROCS(1) // one core: the miner is single-threaded by design
	if err := run(*lines, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "patterns bench:", err)
		os.Exit(1)
	}
}

func run(n, runs int) error {
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "set\ttemplates\tfound\taccuracy 2k\taccuracy\tlines\tlines/s\tns/line\tMB/s\t")
	var all []loggen.Line
	var allTruth []int
	worst := 1.0
	for si, set := range loggen.Sets() {
		ls := loggen.New(set, 42).Lines(n)
		texts := make([]string, len(ls))
		truth := make([]int, len(ls))
		bytes := 0
		for i, l := range ls {
			texts[i], truth[i] = l.Text, l.Template
			bytes += len(l.Text)
			if i%8 == 0 {
				all = append(all, l)
				allTruth = append(allTruth, si*1000+l.Template)
			}
		}
		best := time.Duration(1 << 62)
		var m *patterns.Miner
		var ids []patterns.ID
		for range runs {
			runtime.GC()
			m = patterns.NewMiner(patterns.Options{})
			ids = make([]patterns.ID, len(texts))
			start := time.Now()
			for i, t := range texts {
				ids[i] = m.Add(t)
			}
			best = min(best, time.Since(start))
		}
		for i := range ids {
			ids[i] = m.Resolve(ids[i])
		}
		acc := patterns.GroupingAccuracy(truth, ids)
		small := min(2000, len(texts))
		acc2k := accuracy(texts[:small], truth[:small])
		worst = min(worst, acc, acc2k)
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.4f\t%.4f\t%d\t%.0f\t%.0f\t%.1f\t\n", set.Name, len(set.Templates), m.Len(), acc2k, acc,
			len(texts), float64(len(texts))/best.Seconds(), float64(best.Nanoseconds())/float64(len(texts)), float64(bytes)/best.Seconds()/1e6)
	}
	mixTexts := make([]string, len(all))
	for i, l := range all {
		mixTexts[i] = l.Text
	}
	start := time.Now()
	acc := accuracy(mixTexts, allTruth)
	el := time.Since(start)
	fmt.Fprintf(tw, "all mixed\t%d\t\t\t%.4f\t%d\t%.0f\t\t\t\n", 72, acc, len(mixTexts), float64(len(mixTexts))/el.Seconds())
	tw.Flush()
	fmt.Printf("\nworst accuracy: %.4f (target ≥ 0.95)\n\n", worst)

	bounded()
	return online(n)
}

func accuracy(texts []string, truth []int) float64 {
	m := patterns.NewMiner(patterns.Options{})
	ids := make([]patterns.ID, len(texts))
	for i, t := range texts {
		ids[i] = m.Add(t)
	}
	for i := range ids {
		ids[i] = m.Resolve(ids[i])
	}
	return patterns.GroupingAccuracy(truth, ids)
}

// bounded feeds lines with ever new constant-looking words: templates per
// token count and the cache stay capped, so memory does too.
func bounded() {
	r := rand.New(rand.NewPCG(1, 2))
	word := func() string {
		const a = "abcdefghijklmnopqrstuvwxyz"
		b := make([]byte, 3+r.IntN(6))
		for i := range b {
			b[i] = a[r.IntN(len(a))]
		}
		return string(b)
	}
	m := patterns.NewMiner(patterns.Options{})
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	const n = 1_000_000
	start := time.Now()
	for range n {
		k := 3 + r.IntN(6)
		ws := make([]string, k)
		for j := range ws {
			ws[j] = word()
		}
		m.Add(strings.Join(ws, " "))
	}
	el := time.Since(start)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	fmt.Printf("unbounded variety: %d random lines in %v (%.0f lines/s), %d templates, heap %.1f MB\n\n",
		n, el.Round(time.Millisecond), n/el.Seconds(), m.Len(), float64(after.HeapAlloc)/1e6)
}

// online runs the server's index: records observed, mined and flushed to SQLite.
func online(n int) error {
	dir, err := os.MkdirTemp("", "patterns-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	st, err := state.Open(ctx, dir)
	if err != nil {
		return err
	}
	defer st.Close()
	x, err := index.Open(ctx, st.DB(), nil, nil, index.Options{QueueBatches: 1 << 16})
	if err != nil {
		return err
	}
	var recs []logs.Record
	base := time.Now().Add(-time.Hour)
	i := 0
	for _, set := range loggen.Sets() {
		for _, l := range loggen.New(set, 9).Lines(n / 7) {
			recs = append(recs, logs.Record{Time: base.Add(time.Duration(i) * time.Millisecond), Fields: []logs.Field{
				{Name: "namespace", Value: "ns-" + set.Name}, {Name: "pod", Value: fmt.Sprintf("pod-%d", i%20)},
				{Name: "container", Value: "app"}, {Name: "_msg", Value: l.Text},
			}})
			i++
		}
	}
	start := time.Now()
	for b := 0; b < len(recs); b += 1000 {
		x.Observe(recs[b:min(b+1000, len(recs))])
		x.Drain()
	}
	mined := time.Since(start)
	if err := x.Flush(ctx); err != nil {
		return err
	}
	total := time.Since(start)
	var rows int
	if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM patterns_counts`).Scan(&rows); err != nil {
		return err
	}
	fmt.Printf("online index: %d records mined in %v (%.0f lines/s), with SQLite flush %v (%.0f lines/s); %d count rows, %s\n\n",
		len(recs), mined.Round(time.Millisecond), float64(len(recs))/mined.Seconds(), total.Round(time.Millisecond),
		float64(len(recs))/total.Seconds(), rows, x.Stats())
	return days(ctx)
}

// days fills the index with a week of lines (every minute, 10 streams) and
// times GET /api/patterns over a day and over the week.
func days(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "patterns-bench-days")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := state.Open(ctx, dir)
	if err != nil {
		return err
	}
	defer st.Close()
	x, err := index.Open(ctx, st.DB(), nil, nil, index.Options{QueueBatches: 1 << 16, Retention: 30 * 24 * time.Hour})
	if err != nil {
		return err
	}
	sets := loggen.Sets()
	gens := make([]*loggen.Generator, len(sets))
	for i, set := range sets {
		gens[i] = loggen.New(set, uint64(i))
	}
	end := time.Now().Truncate(time.Minute)
	start := end.Add(-7 * 24 * time.Hour)
	n := 0
	for t := start; t.Before(end); t = t.Add(time.Minute) {
		recs := make([]logs.Record, 0, 30)
		for k := range 30 {
			si := k % len(sets)
			recs = append(recs, logs.Record{Time: t.Add(time.Duration(k) * time.Second), Fields: []logs.Field{
				{Name: "namespace", Value: "ns-" + sets[si].Name}, {Name: "pod", Value: fmt.Sprintf("pod-%d", k%10)},
				{Name: "container", Value: "app"}, {Name: "_msg", Value: gens[si].Next().Text},
			}})
		}
		x.Observe(recs)
		x.Drain()
		n += len(recs)
		if t.Minute() == 0 && t.Hour()%6 == 0 {
			if err := x.Flush(ctx); err != nil {
				return err
			}
		}
	}
	if err := x.Flush(ctx); err != nil {
		return err
	}
	var rows int
	if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM patterns_counts`).Scan(&rows); err != nil {
		return err
	}
	mux := http.NewServeMux()
	x.Register(mux, func(h http.Handler) http.Handler { return h })
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Printf("a week in the index: %d lines, %d count rows (minute × stream × pattern)\n", n, rows)
	fmt.Fprintln(tw, "GET /api/patterns\twindow (and the one before)\tpatterns\tlines\tlatency\t")
	for _, c := range []struct{ name, query, start string }{
		{"all streams", "*", "24h"}, {"all streams", "*", "84h"},
		{"one namespace", `{namespace="ns-klog"}`, "24h"}, {"one namespace", `{namespace="ns-klog"}`, "84h"},
	} {
		best := time.Duration(1 << 62)
		var res index.Result
		for range 3 {
			rec := httptest.NewRecorder()
			q := url.Values{"query": {c.query}, "start": {c.start}}
			t0 := time.Now()
			mux.ServeHTTP(rec, httptest.NewRequest("GET", "/api/patterns?"+q.Encode(), nil))
			best = min(best, time.Since(t0))
			if rec.Code != 200 {
				return fmt.Errorf("%s: %d %s", c.query, rec.Code, rec.Body.String())
			}
			res = index.Result{}
			if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
				return err
			}
		}
		fmt.Fprintf(tw, "%s (%s)\t%s\t%d\t%d\t%v\t\n", c.name, res.Mode, c.start, len(res.Patterns), res.Total, best.Round(time.Millisecond))
	}
	return tw.Flush()
}
