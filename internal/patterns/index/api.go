package index

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"vigil/internal/patterns"
	"vigil/internal/store/logs"
)

// Pattern is one template in a time range.
type Pattern struct {
	ID            string    `json:"id"`
	Template      string    `json:"template"`
	Count         int64     `json:"count"`
	Share         float64   `json:"share"`
	FirstSeen     time.Time `json:"first_seen"`
	LastSeen      time.Time `json:"last_seen"`
	PreviousCount int64     `json:"previous_count"`
	// Trend compares Count with the previous window of equal length: new, rising, falling or steady.
	Trend  string `json:"trend"`
	Sample string `json:"sample"`
	// Filter is a LogsQL filter that selects this pattern's lines.
	Filter string `json:"filter"`
	// Query is the request's query narrowed to this pattern, for the log explorer.
	Query string `json:"query"`
}

// Result is the answer of GET /api/patterns.
type Result struct {
	// Mode is "index" (counts from the online index, 1-minute resolution) or
	// "scan" (the matching lines were read and mined for this request).
	Mode          string    `json:"mode"`
	Query         string    `json:"query"`
	Start         time.Time `json:"start"`
	End           time.Time `json:"end"`
	Total         int64     `json:"total"`
	PreviousTotal int64     `json:"previous_total"`
	// Truncated: a scan stopped at ScanLimit lines; counts cover the newest lines read.
	Truncated bool      `json:"truncated"`
	Scanned   int       `json:"scanned,omitempty"`
	Patterns  []Pattern `json:"patterns"`
}

// ScanLimit bounds the lines read per window when a query needs a scan.
var ScanLimit = 200_000

const maxQueryBytes = 16 << 10

// Register adds GET /api/patterns to mux, wrapped by wrap (authentication).
func (x *Index) Register(mux *http.ServeMux, wrap func(http.Handler) http.Handler) {
	mux.Handle("GET /api/patterns", wrap(http.HandlerFunc(x.serve)))
}

type badRequest struct{ error }

func (x *Index) serve(w http.ResponseWriter, r *http.Request) {
	res, err := x.handle(r)
	if err != nil {
		code := http.StatusInternalServerError
		var br badRequest
		var bq logs.BadQueryError
		switch {
		case errors.As(err, &br), errors.As(err, &bq):
			code = http.StatusBadRequest
		case errors.Is(err, context.Canceled):
			return
		case errors.Is(err, context.DeadlineExceeded):
			code = http.StatusServiceUnavailable
		}
		http.Error(w, err.Error(), code)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

func bad(format string, args ...any) error { return badRequest{fmt.Errorf(format, args...)} }

// parseTime accepts Unix seconds, RFC3339, or a duration meaning that long ago.
func parseTime(s string, now, def time.Time) (time.Time, error) {
	switch s {
	case "":
		return def, nil
	case "now":
		return now, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) && math.Abs(f) < 1e11 {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, bad("cannot parse time %q (Unix seconds, RFC3339 or a duration ago)", s)
}

func (x *Index) handle(r *http.Request) (*Result, error) {
	q := strings.TrimSpace(r.FormValue("query"))
	if len(q) > maxQueryBytes {
		return nil, bad("query longer than %d bytes", maxQueryBytes)
	}
	if !utf8.ValidString(q) {
		return nil, bad("query is not valid UTF-8")
	}
	if q == "" {
		q = "*"
	}
	now := time.Now().UTC()
	end, err := parseTime(r.FormValue("end"), now, now)
	if err != nil {
		return nil, err
	}
	start, err := parseTime(r.FormValue("start"), now, end.Add(-time.Hour))
	if err != nil {
		return nil, err
	}
	if !end.After(start) {
		return nil, bad("end must be after start")
	}
	if end.Sub(start) > 400*24*time.Hour {
		return nil, bad("time range longer than 400 days")
	}
	limit := 200
	if s := r.FormValue("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit <= 0 || limit > 5000 {
			return nil, bad("limit must be 1…5000")
		}
	}
	mode := r.FormValue("mode")
	if mode != "" && mode != "index" && mode != "scan" {
		return nil, bad("mode must be index or scan")
	}
	sf, streamOnly, err := ParseStreamQuery(q)
	if err != nil {
		return nil, bad("%v", err)
	}
	if mode == "index" && !streamOnly {
		return nil, bad("the index answers only stream filters (namespace, pod, container, node, file); use mode=scan")
	}
	var res *Result
	if streamOnly && mode != "scan" {
		res, err = x.fromIndex(r.Context(), sf, start, end)
	} else {
		res, err = x.scan(r.Context(), q, start, end)
	}
	if err != nil {
		return nil, err
	}
	res.Query, res.Start, res.End = q, start, end
	for i := range res.Patterns {
		p := &res.Patterns[i]
		if res.Total > 0 {
			p.Share = float64(p.Count) / float64(res.Total)
		}
		p.Trend = trend(p.Count, p.PreviousCount)
		toks := patterns.Split(nil, p.Template, 0)
		p.Filter = patterns.Filter(toks)
		switch {
		case res.Mode == "index":
			if base := sf.LogsQL(); base != "*" {
				p.Query = base + " " + p.Filter
			} else {
				p.Query = p.Filter
			}
		case q == "*":
			p.Query = p.Filter
		default:
			p.Query = "(" + q + ") " + p.Filter
		}
	}
	slices.SortStableFunc(res.Patterns, func(a, b Pattern) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return strings.Compare(a.Template, b.Template)
	})
	if len(res.Patterns) > limit {
		res.Patterns = res.Patterns[:limit]
	}
	return res, nil
}

// trend classifies a count against the previous window's.
func trend(cur, prev int64) string {
	switch {
	case prev == 0:
		return "new"
	case float64(cur) >= 1.5*float64(prev):
		return "rising"
	case float64(cur)*1.5 <= float64(prev):
		return "falling"
	}
	return "steady"
}

type windowCounts struct {
	count, first, last int64
}

func (x *Index) fromIndex(ctx context.Context, sf StreamFilter, start, end time.Time) (*Result, error) {
	// Make the newest lines visible: mine what is queued and store it.
	x.Drain()
	if err := x.Flush(ctx); err != nil {
		return nil, fmt.Errorf("flush pattern counts: %w", err)
	}
	// Whole buckets: the current window's from the one holding start, the
	// previous window's the equal span before it, so none counts twice.
	b := int64(Bucket)
	from, to := start.UnixNano()/b*b, end.UnixNano()/b*b
	cur, err := x.counts(ctx, sf, from, to)
	if err != nil {
		return nil, err
	}
	prev, err := x.counts(ctx, sf, from-(to-from)-b, from-b)
	if err != nil {
		return nil, err
	}
	res := &Result{Mode: "index", Patterns: []Pattern{}}
	for id, c := range cur {
		_, ti := x.resolve(id)
		p := Pattern{ID: strconv.FormatInt(id, 10), Count: c.count, PreviousCount: prev[id].count,
			FirstSeen: time.Unix(0, c.first).UTC(), LastSeen: time.Unix(0, c.last).UTC()}
		if ti != nil {
			p.Template, p.Sample = ti.text, ti.sample
		}
		res.Patterns = append(res.Patterns, p)
		res.Total += c.count
	}
	for _, c := range prev {
		res.PreviousTotal += c.count
	}
	return res, nil
}

// counts sums the stored counts of the minute buckets from..to (inclusive,
// Unix nanoseconds of their starts) by surviving template: the whole hours
// inside from the hourly rollup, the minutes at either end from the minutes.
func (x *Index) counts(ctx context.Context, sf StreamFilter, from, to int64) (map[int64]windowCounts, error) {
	out := map[int64]windowCounts{}
	h, m := int64(Hour), int64(Bucket)
	firstHour := (from + h - 1) / h * h // the first hour starting inside the window
	endHours := (to + m) / h * h        // the end of the last hour ending inside it
	if firstHour >= endHours {
		return out, x.sum(ctx, out, "patterns_counts", sf, from, to)
	}
	if from < firstHour {
		if err := x.sum(ctx, out, "patterns_counts", sf, from, firstHour-m); err != nil {
			return nil, err
		}
	}
	if err := x.sum(ctx, out, "patterns_counts_hourly", sf, firstHour, endHours-h); err != nil {
		return nil, err
	}
	if endHours <= to {
		if err := x.sum(ctx, out, "patterns_counts", sf, endHours, to); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// sum adds the counts of table's buckets from..to (inclusive) to out.
func (x *Index) sum(ctx context.Context, out map[int64]windowCounts, table string, sf StreamFilter, from, to int64) error {
	var where strings.Builder
	args := []any{from, to}
	for _, c := range streamColumns {
		if v, ok := sf[c]; ok {
			where.WriteString(" AND " + c + " = ?") // c is one of the fixed column names
			args = append(args, v)
		}
	}
	// table and column names are fixed strings of this package.
	rows, err := x.db.QueryContext(ctx, `SELECT id, SUM(count), MIN(first), MAX(last) FROM `+table+`
		WHERE bucket >= ? AND bucket <= ?`+where.String()+` GROUP BY id`, args...)
	if err != nil {
		return fmt.Errorf("read pattern counts: %w", err)
	}
	type row struct{ id, count, first, last int64 }
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.count, &r.first, &r.last); err != nil {
			rows.Close()
			return fmt.Errorf("read pattern counts: %w", err)
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read pattern counts: %w", err)
	}
	for _, r := range all {
		id, _ := x.resolve(r.id)
		c, ok := out[id]
		if !ok {
			c = windowCounts{first: r.first, last: r.last}
		}
		c.count += r.count
		c.first, c.last = min(c.first, r.first), max(c.last, r.last)
		out[id] = c
	}
	return nil
}

var errScanFull = errors.New("scan limit reached")

// scan reads the lines matching q in both windows and mines them with a fresh miner.
func (x *Index) scan(ctx context.Context, q string, start, end time.Time) (*Result, error) {
	if x.Logs == nil {
		return nil, errors.New("no log store to scan")
	}
	m := patterns.NewMiner(patterns.Options{})
	res := &Result{Mode: "scan", Patterns: []Pattern{}}
	type hit struct {
		id patterns.ID
		t  int64
	}
	read := func(from, to time.Time) ([]hit, bool, error) {
		var hits []hit
		err := x.Logs.Query(ctx, q, logs.Range{Start: from, End: to}, 0, func(row []logs.Field) error {
			if len(hits) >= ScanLimit {
				return errScanFull
			}
			var msg, ts string
			for _, f := range row {
				switch f.Name {
				case "_msg":
					msg = f.Value
				case "_time":
					ts = f.Value
				}
			}
			t, _ := time.Parse(time.RFC3339Nano, ts)
			hits = append(hits, hit{id: m.Add(msg), t: t.UnixNano()})
			return nil
		})
		if errors.Is(err, errScanFull) {
			return hits, true, nil
		}
		return hits, false, err
	}
	cur, trunc, err := read(start, end)
	if err != nil {
		return nil, err
	}
	prev, truncPrev, err := read(start.Add(-end.Sub(start)), start.Add(-1))
	if err != nil {
		return nil, err
	}
	res.Truncated = trunc || truncPrev
	res.Scanned = len(cur) + len(prev)
	byID := map[patterns.ID]*Pattern{}
	for _, h := range cur {
		id := m.Resolve(h.id)
		p := byID[id]
		if p == nil {
			t := m.Template(id)
			p = &Pattern{ID: "s" + strconv.Itoa(int(id)), Template: t.Text(), Sample: t.Sample,
				FirstSeen: time.Unix(0, h.t).UTC(), LastSeen: time.Unix(0, h.t).UTC()}
			byID[id] = p
		}
		p.Count++
		if t := time.Unix(0, h.t).UTC(); t.Before(p.FirstSeen) {
			p.FirstSeen = t
		} else if t.After(p.LastSeen) {
			p.LastSeen = t
		}
		res.Total++
	}
	for _, h := range prev {
		res.PreviousTotal++
		if p := byID[m.Resolve(h.id)]; p != nil {
			p.PreviousCount++
		}
	}
	for _, p := range byID {
		res.Patterns = append(res.Patterns, *p)
	}
	return res, nil
}
