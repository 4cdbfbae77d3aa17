// Package logsapi serves the VictoriaLogs LogsQL HTTP API on top of a logs store,
// so the same clients work against vigil's embedded storage and a VictoriaLogs server.
package logsapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"vigil/internal/store/logs"
)

// API serves /select/logsql/*.
type API struct {
	Store logs.Store
	// TailPoll is how often live tail looks for new rows.
	TailPoll time.Duration
	// TailLag is how far back each tail poll looks again, because rows become
	// searchable about a second after they are written.
	TailLag time.Duration

	flushMu   sync.Mutex
	lastFlush time.Time
}

// flushForTail makes freshly written rows searchable at most once per poll
// while someone tails, so a live tail shows lines within a poll of their
// arrival instead of after the engine's one-second flush.
func (a *API) flushForTail(poll time.Duration) {
	f, ok := a.Store.(interface{ Flush() })
	if !ok {
		return
	}
	a.flushMu.Lock()
	defer a.flushMu.Unlock()
	if time.Since(a.lastFlush) < poll {
		return
	}
	f.Flush()
	a.lastFlush = time.Now()
}

// Register adds the routes to mux, wrapping each with wrap (authentication).
func (a *API) Register(mux *http.ServeMux, wrap func(http.Handler) http.Handler) {
	for path, f := range map[string]http.HandlerFunc{
		"/select/logsql/query":             a.query,
		"/select/logsql/hits":              a.hits,
		"/select/logsql/field_names":       a.fieldNames,
		"/select/logsql/field_values":      a.fieldValues,
		"/select/logsql/stats_query_range": a.statsQueryRange,
		"/select/logsql/tail":              a.tail,
	} {
		mux.Handle("GET "+path, wrap(f))
		mux.Handle("POST "+path, wrap(f))
	}
}

func httpError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	var bq logs.BadQueryError
	switch {
	case errors.As(err, &bq):
		code = http.StatusBadRequest
	case errors.Is(err, context.Canceled):
		return
	case errors.Is(err, context.DeadlineExceeded):
		code = http.StatusServiceUnavailable
	}
	http.Error(w, err.Error(), code)
}

func bad(format string, args ...any) error {
	return logs.BadQueryError{Err: fmt.Errorf(format, args...)}
}

// parseTime accepts Unix seconds (with fractions), RFC3339, a date, or a
// duration meaning "that long ago" (e.g. 5m), like VictoriaLogs.
func parseTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if s == "now" {
		return now, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	return time.Time{}, bad("cannot parse time %q", s)
}

func parseRange(r *http.Request) (logs.Range, error) {
	now := time.Now()
	start, err := parseTime(r.FormValue("start"), now)
	if err != nil {
		return logs.Range{}, err
	}
	end, err := parseTime(r.FormValue("end"), now)
	if err != nil {
		return logs.Range{}, err
	}
	if !start.IsZero() && !end.IsZero() && end.Before(start) {
		return logs.Range{}, bad("end is before start")
	}
	return logs.Range{Start: start, End: end}, nil
}

func intArg(r *http.Request, name string, def int) (int, error) {
	s := r.FormValue(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, bad("%s must be a non-negative integer", name)
	}
	return n, nil
}

// parseArgs parses the time range and then each further argument in order,
// answering the first bad one itself; ok is false once it has.
func parseArgs(w http.ResponseWriter, r *http.Request, more ...func(*http.Request) error) (rng logs.Range, ok bool) {
	rng, err := parseRange(r)
	for _, parse := range more {
		if err != nil {
			break
		}
		err = parse(r)
	}
	if err != nil {
		httpError(w, err)
		return logs.Range{}, false
	}
	return rng, true
}

// intInto and stepInto adapt intArg and stepArg to parseArgs.
func intInto(dst *int, name string) func(*http.Request) error {
	return func(r *http.Request) (err error) {
		*dst, err = intArg(r, name, 0)
		return err
	}
}

func stepInto(dst *time.Duration) func(*http.Request) error {
	return func(r *http.Request) (err error) {
		*dst, err = stepArg(r)
		return err
	}
}

func stepArg(r *http.Request) (time.Duration, error) {
	s := r.FormValue("step")
	if s == "" {
		return 0, bad("missing step")
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 {
		return time.Duration(f * float64(time.Second)), nil
	}
	return 0, bad("cannot parse step %q", s)
}

func queryArg(r *http.Request) string {
	if q := strings.TrimSpace(r.FormValue("query")); q != "" {
		return q
	}
	return "*"
}

func appendRow(dst []byte, row []logs.Field) []byte {
	dst = append(dst, '{')
	for i, f := range row {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendQuote(dst, f.Name)
		dst = append(dst, ':')
		b, _ := json.Marshal(f.Value)
		dst = append(dst, b...)
	}
	return append(dst, '}', '\n')
}

// appendEvent appends row as a JSON line, or as a Server-Sent Event.
func appendEvent(dst []byte, row []logs.Field, sse bool) []byte {
	if !sse {
		return appendRow(dst, row)
	}
	dst = append(dst, "data: "...)
	dst = appendRow(dst, row)
	return append(dst, '\n')
}

// query streams matching rows as JSON lines, newest first.
func (a *API) query(w http.ResponseWriter, r *http.Request) {
	var limit int
	rng, ok := parseArgs(w, r, intInto(&limit, "limit"))
	if !ok {
		return
	}
	var buf []byte
	wroteHeader := false
	err := a.Store.Query(r.Context(), queryArg(r), rng, limit, func(row []logs.Field) error {
		if !wroteHeader {
			w.Header().Set("Content-Type", "application/stream+json")
			wroteHeader = true
		}
		buf = appendRow(buf[:0], row)
		_, err := w.Write(buf)
		return err
	})
	if err != nil {
		if !wroteHeader {
			httpError(w, err)
		}
		return
	}
	if !wroteHeader {
		w.Header().Set("Content-Type", "application/stream+json")
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (a *API) hits(w http.ResponseWriter, r *http.Request) {
	var step time.Duration
	var fl int
	rng, ok := parseArgs(w, r, stepInto(&step), intInto(&fl, "fields_limit"))
	if !ok {
		return
	}
	_ = r.ParseForm()
	series, err := a.Store.Hits(r.Context(), queryArg(r), rng, step, r.Form["field"], fl)
	if err != nil {
		httpError(w, err)
		return
	}
	type hitsJSON struct {
		Fields     map[string]string `json:"fields"`
		Timestamps []string          `json:"timestamps"`
		Values     []uint64          `json:"values"`
		Total      uint64            `json:"total"`
	}
	out := make([]hitsJSON, 0, len(series))
	for _, s := range series {
		h := hitsJSON{Fields: s.Fields, Values: s.Values, Total: s.Total}
		for _, t := range s.Timestamps {
			h.Timestamps = append(h.Timestamps, t.Format(time.RFC3339Nano))
		}
		out = append(out, h)
	}
	writeJSON(w, map[string]any{"hits": out})
}

func (a *API) fieldNames(w http.ResponseWriter, r *http.Request) {
	rng, ok := parseArgs(w, r)
	if !ok {
		return
	}
	vs, err := a.Store.FieldNames(r.Context(), queryArg(r), rng)
	writeValues(w, vs, err)
}

// writeValues answers a field_names or field_values request.
func writeValues(w http.ResponseWriter, vs []logs.ValueWithHits, err error) {
	if err != nil {
		httpError(w, err)
		return
	}
	if vs == nil {
		vs = []logs.ValueWithHits{}
	}
	writeJSON(w, map[string]any{"values": vs})
}

func (a *API) fieldValues(w http.ResponseWriter, r *http.Request) {
	var limit int
	rng, ok := parseArgs(w, r, intInto(&limit, "limit"))
	if !ok {
		return
	}
	vs, err := a.Store.FieldValues(r.Context(), queryArg(r), rng, r.FormValue("field"), limit)
	writeValues(w, vs, err)
}

// statsQueryRange answers in the Prometheus matrix format, as VictoriaLogs does.
func (a *API) statsQueryRange(w http.ResponseWriter, r *http.Request) {
	var step time.Duration
	rng, ok := parseArgs(w, r, stepInto(&step))
	if !ok {
		return
	}
	series, err := a.Store.StatsQueryRange(r.Context(), queryArg(r), rng, step)
	if err != nil {
		var bq logs.BadQueryError
		code := http.StatusUnprocessableEntity
		if errors.As(err, &bq) {
			code = http.StatusBadRequest
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "error", "errorType": "bad_data", "error": err.Error()})
		return
	}
	type result struct {
		Metric map[string]string `json:"metric"`
		Values [][2]any          `json:"values"`
	}
	res := make([]result, 0, len(series))
	for _, s := range series {
		m := map[string]string{"__name__": s.Name}
		for _, l := range s.Labels {
			m[l.Name] = l.Value
		}
		rr := result{Metric: m}
		for _, p := range s.Points {
			rr.Values = append(rr.Values, [2]any{float64(p.Time.UnixNano()) / 1e9, p.Value})
		}
		res = append(res, rr)
	}
	writeJSON(w, map[string]any{"status": "success", "data": map[string]any{"resultType": "matrix", "result": res}})
}

// tail streams rows that arrive from now on. With Accept: text/event-stream it
// speaks Server-Sent Events (for browsers); otherwise JSON lines, like VictoriaLogs.
func (a *API) tail(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	q := queryArg(r)
	// Validate the query once before streaming.
	if err := a.Store.Query(r.Context(), q, logs.Range{Start: time.Now(), End: time.Now()}, 1, func([]logs.Field) error { return nil }); err != nil {
		httpError(w, err)
		return
	}
	sse := strings.Contains(r.Header.Get("Accept"), "text/event-stream")
	if sse {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
	} else {
		w.Header().Set("Content-Type", "application/stream+json")
	}
	// Subscribe before the client sees the response start: a line written
	// right after it must be in the tail.
	if sub, ok := a.Store.(logs.Subscriber); ok && r.FormValue("start_offset") == "" {
		if rows, lost, stop, err := sub.Subscribe(q, 50_000); err == nil {
			defer stop()
			w.WriteHeader(http.StatusOK)
			flusher.Flush()
			streamRows(r.Context(), w, flusher, rows, lost, sse)
			return
		}
		// A query with pipes cannot be matched row by row: poll instead.
	}
	w.WriteHeader(http.StatusOK)
	flusher.Flush()

	poll, lag := a.TailPoll, a.TailLag
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	if lag <= 0 {
		lag = 3 * time.Second
	}
	offset := time.Duration(0)
	if s := r.FormValue("start_offset"); s != "" {
		if d, err := time.ParseDuration(s); err == nil && d > 0 {
			offset = d
		}
	}
	cursor := time.Now().Add(-offset)
	seen := map[uint64]time.Time{} // rows already sent within the lag window
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	var buf []byte
	for {
		now := time.Now()
		a.flushForTail(poll)
		from := cursor.Add(-lag)
		var rows [][]logs.Field
		err := a.Store.Query(r.Context(), q, logs.Range{Start: from, End: now}, 0, func(row []logs.Field) error {
			rows = append(rows, row)
			return nil
		})
		if err != nil {
			return
		}
		sortByTime(rows)
		for _, row := range rows {
			ts := rowTime(row)
			if ts.Before(cursor.Add(-lag)) {
				continue
			}
			h := rowHash(row)
			if _, dup := seen[h]; dup {
				continue
			}
			seen[h] = ts
			buf = appendEvent(buf[:0], row, sse)
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
		if sse && len(rows) == 0 {
			// A comment keeps proxies from closing an idle stream.
			if _, err := w.Write([]byte(": keepalive\n\n")); err != nil {
				return
			}
		}
		flusher.Flush()
		cursor = now
		for h, ts := range seen {
			if ts.Before(cursor.Add(-2 * lag)) {
				delete(seen, h)
			}
		}
		select {
		case <-r.Context().Done():
			return
		case <-ticker.C:
		}
	}
}

func rowTime(row []logs.Field) time.Time {
	for _, f := range row {
		if f.Name == "_time" {
			t, _ := time.Parse(time.RFC3339Nano, f.Value)
			return t
		}
	}
	return time.Time{}
}

func sortByTime(rows [][]logs.Field) {
	slices.SortStableFunc(rows, func(a, b []logs.Field) int { return rowTime(a).Compare(rowTime(b)) })
}

func rowHash(row []logs.Field) uint64 {
	h := fnv.New64a()
	for _, f := range row {
		h.Write([]byte(f.Name))
		h.Write([]byte{0})
		h.Write([]byte(f.Value))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// streamRows writes subscribed rows as they come, flushing at most every
// 100 ms so a busy stream costs few writes; rows lost because this reader was
// slower than the writers are reported to SSE clients as a "lost" event.
func streamRows(ctx context.Context, w http.ResponseWriter, flusher http.Flusher, rows <-chan []logs.Field, lost func() int64, sse bool) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var buf []byte
	var reported int64
	idle := 0
	for {
		select {
		case <-ctx.Done():
			return
		case row := <-rows:
			buf = appendEvent(buf, row, sse)
			if len(buf) < 256<<10 {
				continue
			}
		case <-tick.C:
			if n := lost(); sse && n > reported {
				buf = fmt.Appendf(buf, "event: lost\ndata: %d\n\n", n)
				reported = n
			}
			if len(buf) == 0 {
				// A comment every 15 s keeps proxies from closing an idle stream.
				if idle++; !sse || idle%150 != 0 {
					continue
				}
				buf = append(buf, ": keepalive\n\n"...)
			}
		}
		idle = 0
		if _, err := w.Write(buf); err != nil {
			return
		}
		flusher.Flush()
		buf = buf[:0]
	}
}
