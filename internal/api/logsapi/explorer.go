package logsapi

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"vigil/internal/auth"
	"vigil/internal/ingest"
	"vigil/internal/kube"
	"vigil/internal/logretention"
	"vigil/internal/store/logs"
)

// Explorer serves the log explorer's own endpoints: pipeline rules, saved
// views and a line's context. Its tables live in the shared state database.
type Explorer struct {
	DB       *sql.DB
	Store    logs.Store
	Pipeline *ingest.Pipeline
	// Retention reports per-namespace retention with the disk use; may be nil.
	Retention *logretention.Enforcer
	// Dir is the log storage directory, for the disk use it reports.
	Dir string
}

const schema = `
CREATE TABLE IF NOT EXISTS logs_pipeline_rules (id INTEGER PRIMARY KEY CHECK (id = 1), rules TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS logs_saved_views (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	name TEXT NOT NULL UNIQUE,
	query TEXT NOT NULL,
	range TEXT NOT NULL DEFAULT '',
	created_by TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL
);`

// OpenPipeline creates the tables and returns a pipeline with the stored rules.
func OpenPipeline(ctx context.Context, db *sql.DB) (*ingest.Pipeline, error) {
	if _, err := db.ExecContext(ctx, schema); err != nil {
		return nil, fmt.Errorf("create log explorer tables: %w", err)
	}
	p := ingest.NewPipeline()
	var raw string
	err := db.QueryRowContext(ctx, `SELECT rules FROM logs_pipeline_rules WHERE id = 1`).Scan(&raw)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return p, nil
	case err != nil:
		return nil, fmt.Errorf("load log pipeline rules: %w", err)
	}
	r, err := ingest.UnmarshalRules([]byte(raw))
	if err == nil {
		err = p.SetRules(r)
	}
	if err != nil {
		return nil, fmt.Errorf("stored log pipeline rules: %w", err)
	}
	return p, nil
}

// Register adds the routes to mux, wrapping each with wrap (authentication).
func (e *Explorer) Register(mux *http.ServeMux, wrap func(http.Handler) http.Handler) {
	mux.Handle("GET /api/logs/rules", wrap(http.HandlerFunc(e.getRules)))
	mux.Handle("PUT /api/logs/rules", wrap(http.HandlerFunc(e.putRules)))
	mux.Handle("GET /api/logs/views", wrap(http.HandlerFunc(e.listViews)))
	mux.Handle("POST /api/logs/views", wrap(http.HandlerFunc(e.saveView)))
	mux.Handle("DELETE /api/logs/views/{id}", wrap(http.HandlerFunc(e.deleteView)))
	mux.Handle("GET /api/logs/context", wrap(http.HandlerFunc(e.context)))
	mux.Handle("GET /api/logs/pipeline/stats", wrap(http.HandlerFunc(e.stats)))
	mux.Handle("GET /api/logs/storage", wrap(http.HandlerFunc(e.storage)))
}

func readSmallBody(r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, bad("read body: %v", err)
	}
	if int64(len(b)) > limit {
		return nil, logs.BadQueryError{Err: fmt.Errorf("body larger than %d bytes", limit)}
	}
	if !utf8.Valid(b) {
		return nil, bad("body is not valid UTF-8")
	}
	return b, nil
}

func (e *Explorer) getRules(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, e.Pipeline.Rules())
}

func (e *Explorer) putRules(w http.ResponseWriter, r *http.Request) {
	b, err := readSmallBody(r, 256<<10)
	if err != nil {
		httpError(w, err)
		return
	}
	rules, err := ingest.UnmarshalRules(b)
	if err != nil {
		httpError(w, logs.BadQueryError{Err: err})
		return
	}
	raw, _ := ingest.MarshalRules(rules)
	if _, err := e.DB.ExecContext(r.Context(), `INSERT INTO logs_pipeline_rules (id, rules) VALUES (1, ?)
		ON CONFLICT(id) DO UPDATE SET rules = excluded.rules`, string(raw)); err != nil {
		httpError(w, fmt.Errorf("store log pipeline rules: %w", err))
		return
	}
	if err := e.Pipeline.SetRules(rules); err != nil {
		httpError(w, logs.BadQueryError{Err: err})
		return
	}
	writeJSON(w, rules)
}

func (e *Explorer) stats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]int64{
		"excluded":    e.Pipeline.Excluded.Load(),
		"rateDropped": e.Pipeline.RateDropped.Load(),
		"redacted":    e.Pipeline.Redacted.Load(),
	})
}

// View is a saved explorer query.
type View struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Query     string    `json:"query"`
	Range     string    `json:"range"`
	CreatedBy string    `json:"createdBy"`
	CreatedAt time.Time `json:"createdAt"`
}

func (e *Explorer) listViews(w http.ResponseWriter, r *http.Request) {
	rows, err := e.DB.QueryContext(r.Context(), `SELECT id, name, query, range, created_by, created_at FROM logs_saved_views ORDER BY name`)
	if err != nil {
		httpError(w, fmt.Errorf("list saved views: %w", err))
		return
	}
	out := []View{}
	for rows.Next() {
		var v View
		var at int64
		if err := rows.Scan(&v.ID, &v.Name, &v.Query, &v.Range, &v.CreatedBy, &at); err != nil {
			rows.Close()
			httpError(w, fmt.Errorf("list saved views: %w", err))
			return
		}
		v.CreatedAt = time.Unix(at, 0).UTC()
		out = append(out, v)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		httpError(w, fmt.Errorf("list saved views: %w", err))
		return
	}
	writeJSON(w, out)
}

func (e *Explorer) saveView(w http.ResponseWriter, r *http.Request) {
	b, err := readSmallBody(r, 64<<10)
	if err != nil {
		httpError(w, err)
		return
	}
	var v View
	if err := json.Unmarshal(b, &v); err != nil {
		httpError(w, bad("decode view: %v", err))
		return
	}
	v.Name, v.Query = strings.TrimSpace(v.Name), strings.TrimSpace(v.Query)
	if v.Name == "" || len(v.Name) > 200 || v.Query == "" {
		httpError(w, bad("a view needs a name (at most 200 bytes) and a query"))
		return
	}
	// Refuse a query that does not parse, so a saved view always opens.
	if err := e.Store.Query(r.Context(), v.Query, logs.Range{Start: time.Now(), End: time.Now()}, 1, func([]logs.Field) error { return nil }); err != nil {
		httpError(w, err)
		return
	}
	v.CreatedAt = time.Now().UTC().Truncate(time.Second)
	res, err := e.DB.ExecContext(r.Context(), `INSERT INTO logs_saved_views (name, query, range, created_by, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT(name) DO UPDATE SET query = excluded.query, range = excluded.range`, v.Name, v.Query, v.Range, principal(r), v.CreatedAt.Unix())
	if err != nil {
		httpError(w, fmt.Errorf("save view: %w", err))
		return
	}
	v.ID, _ = res.LastInsertId()
	writeJSON(w, v)
}

func (e *Explorer) deleteView(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		httpError(w, bad("bad view id"))
		return
	}
	res, err := e.DB.ExecContext(r.Context(), `DELETE FROM logs_saved_views WHERE id = ?`, id)
	if err != nil {
		httpError(w, fmt.Errorf("delete view: %w", err))
		return
	}
	if n, _ := res.RowsAffected(); n == 0 {
		http.Error(w, "no such view", http.StatusNotFound)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// context returns the lines around one line of a stream: ?stream_id= (or
// namespace/pod/container) and ?time= of the line, ?before=, ?after=.
func (e *Explorer) context(w http.ResponseWriter, r *http.Request) {
	t, err := parseTime(r.FormValue("time"), time.Now())
	if err != nil || t.IsZero() {
		httpError(w, bad("missing or bad time"))
		return
	}
	before, err := intArg(r, "before", 20)
	if err != nil {
		httpError(w, err)
		return
	}
	after, err := intArg(r, "after", 20)
	if err != nil {
		httpError(w, err)
		return
	}
	before, after = min(before, 1000), min(after, 1000)
	var filter string
	if id := r.FormValue("stream_id"); id != "" {
		filter = "_stream_id:" + strconv.Quote(id)
	} else {
		var parts []string
		for _, f := range []string{"namespace", "pod", "container", "node", "file", "source"} {
			if v := r.FormValue(f); v != "" {
				parts = append(parts, fmt.Sprintf("%s:=%s", f, strconv.Quote(v)))
			}
		}
		if len(parts) == 0 {
			httpError(w, bad("give stream_id or namespace/pod/container (or node/file)"))
			return
		}
		filter = strings.Join(parts, " ")
	}
	ctx := r.Context()
	// Before: newest first up to and including t; after: strictly later, oldest first.
	var older, newer [][]logs.Field
	window := 24 * time.Hour
	if err := e.Store.Query(ctx, filter, logs.Range{Start: t.Add(-window), End: t}, before+1, func(row []logs.Field) error {
		older = append(older, row)
		return nil
	}); err != nil {
		httpError(w, err)
		return
	}
	q := filter + " | sort by (_time) | limit " + strconv.Itoa(after)
	if err := e.Store.Query(ctx, q, logs.Range{Start: t.Add(time.Nanosecond), End: t.Add(window)}, 0, func(row []logs.Field) error {
		newer = append(newer, row)
		return nil
	}); err != nil {
		httpError(w, err)
		return
	}
	out := make([]map[string]string, 0, len(older)+len(newer))
	for i := len(older) - 1; i >= 0; i-- {
		out = append(out, rowMap(older[i]))
	}
	for _, row := range newer {
		out = append(out, rowMap(row))
	}
	writeJSON(w, out)
}

func rowMap(row []logs.Field) map[string]string {
	m := make(map[string]string, len(row))
	for _, f := range row {
		m[f.Name] = f.Value
	}
	return m
}

// ZoneLookup returns a cached node → zone function over the inventory.
func ZoneLookup(inv *kube.Inventory) func(string) string {
	var mu sync.Mutex
	var zones map[string]string
	var at time.Time
	return func(node string) string {
		mu.Lock()
		defer mu.Unlock()
		if zones == nil || time.Since(at) > 30*time.Second {
			zones = map[string]string{}
			for _, n := range inv.Nodes() {
				zones[n.Name] = n.Zone
			}
			at = time.Now()
		}
		return zones[node]
	}
}

func principal(r *http.Request) string {
	if p, ok := auth.FromContext(r.Context()); ok {
		return p.User
	}
	return ""
}

// storage reports the disk used by the log storage directory.
func (e *Explorer) storage(w http.ResponseWriter, r *http.Request) {
	var size, files int64
	if e.Dir != "" {
		err := filepath.WalkDir(e.Dir, func(_ string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil // parts come and go while merging
			}
			if r.Context().Err() != nil {
				return r.Context().Err()
			}
			if d.Type().IsRegular() {
				if fi, err := d.Info(); err == nil {
					size += fi.Size()
					files++
				}
			}
			return nil
		})
		if err != nil {
			httpError(w, err)
			return
		}
	}
	out := map[string]any{"bytes": size, "files": files}
	if e.Retention != nil {
		out["retention"] = e.Retention.Status(r.Context())
	}
	writeJSON(w, out)
}
