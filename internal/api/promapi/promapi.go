// Package promapi serves the Prometheus HTTP query API on top of a metrics store,
// so Grafana, promtool and other Prometheus clients work against vigil unchanged.
package promapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"

	"vigil/internal/store/metrics"
)

// API serves /api/v1/*.
type API struct {
	Store metrics.Store
	// Now is the clock for default times (tests override it).
	Now func() time.Time
}

// Register adds the routes to mux, wrapping each with wrap (authentication).
func (a *API) Register(mux *http.ServeMux, wrap func(http.Handler) http.Handler) {
	h := func(f func(*http.Request) (any, []string, error)) http.Handler {
		return wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.respond(w, r, f) }))
	}
	for _, m := range []string{"GET", "POST"} {
		mux.Handle(m+" /api/v1/query", h(a.query))
		mux.Handle(m+" /api/v1/query_range", h(a.queryRange))
		mux.Handle(m+" /api/v1/series", h(a.series))
		mux.Handle(m+" /api/v1/labels", h(a.labelNames))
		mux.Handle(m+" /api/v1/label/{name}/values", h(a.labelValues))
	}
	mux.Handle("GET /api/v1/status/buildinfo", h(func(*http.Request) (any, []string, error) {
		return map[string]string{"version": "2.55.0", "application": "vigil"}, nil, nil
	}))
	mux.Handle("GET /api/v1/metadata", h(func(*http.Request) (any, []string, error) { return map[string]any{}, nil, nil }))
}

type response struct {
	Status    string   `json:"status"`
	Data      any      `json:"data,omitempty"`
	ErrorType string   `json:"errorType,omitempty"`
	Error     string   `json:"error,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
}

type apiError struct {
	typ  string
	code int
	err  error
}

func (e *apiError) Error() string { return e.err.Error() }

func badData(format string, args ...any) error {
	return &apiError{typ: "bad_data", code: http.StatusBadRequest, err: fmt.Errorf(format, args...)}
}

func (a *API) respond(w http.ResponseWriter, r *http.Request, f func(*http.Request) (any, []string, error)) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, response{Status: "error", ErrorType: "bad_data", Error: err.Error()})
		return
	}
	data, warnings, err := f(r)
	if err != nil {
		typ, code := "execution", http.StatusUnprocessableEntity
		var ae *apiError
		var bq metrics.BadQueryError
		var eqt promql.ErrQueryTimeout
		var eqc promql.ErrQueryCanceled
		switch {
		case errors.As(err, &ae):
			typ, code = ae.typ, ae.code
		case errors.As(err, &bq):
			typ, code = "bad_data", http.StatusBadRequest
		case errors.As(err, &eqt), errors.Is(err, context.DeadlineExceeded):
			typ, code = "timeout", http.StatusServiceUnavailable
		case errors.As(err, &eqc), errors.Is(err, context.Canceled):
			typ, code = "canceled", 499
		}
		writeJSON(w, code, response{Status: "error", ErrorType: typ, Error: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, response{Status: "success", Data: data, Warnings: warnings})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// parseTime accepts RFC3339 or Unix seconds with fractions, like Prometheus.
func parseTime(s string, def time.Time) (time.Time, error) {
	if s == "" {
		return def, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, badData("cannot parse %q to a valid timestamp", s)
}

func parseDuration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, badData("cannot parse %q to a valid duration: must be positive", s)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	md, err := model.ParseDuration(s)
	d := time.Duration(md)
	if err != nil || d <= 0 {
		return 0, badData("cannot parse %q to a valid duration", s)
	}
	return d, nil
}

func (a *API) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func withTimeout(r *http.Request) (context.Context, context.CancelFunc, error) {
	if t := r.FormValue("timeout"); t != "" {
		d, err := parseDuration(t)
		if err != nil {
			return nil, nil, err
		}
		ctx, cancel := context.WithTimeout(r.Context(), d)
		return ctx, cancel, nil
	}
	ctx, cancel := context.WithCancel(r.Context())
	return ctx, cancel, nil
}

type queryData struct {
	ResultType parser.ValueType `json:"resultType"`
	Result     parser.Value     `json:"result"`
}

func (a *API) query(r *http.Request) (any, []string, error) {
	ts, err := parseTime(r.FormValue("time"), a.now())
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel, err := withTimeout(r)
	if err != nil {
		return nil, nil, err
	}
	defer cancel()
	res, err := a.Store.Query(ctx, r.FormValue("query"), ts)
	if err != nil {
		return nil, nil, err
	}
	return queryData{ResultType: res.Value.Type(), Result: res.Value}, warnings(res), nil
}

func (a *API) queryRange(r *http.Request) (any, []string, error) {
	start, err := parseTime(r.FormValue("start"), time.Time{})
	if err != nil {
		return nil, nil, err
	}
	end, err := parseTime(r.FormValue("end"), time.Time{})
	if err != nil {
		return nil, nil, err
	}
	if start.IsZero() || end.IsZero() {
		return nil, nil, badData("start and end are required")
	}
	step, err := parseDuration(r.FormValue("step"))
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel, err := withTimeout(r)
	if err != nil {
		return nil, nil, err
	}
	defer cancel()
	res, err := a.Store.QueryRange(ctx, r.FormValue("query"), start, end, step)
	if err != nil {
		return nil, nil, err
	}
	return queryData{ResultType: res.Value.Type(), Result: res.Value}, warnings(res), nil
}

func warnings(res metrics.QueryResult) []string {
	var out []string
	for _, w := range res.Warnings {
		out = append(out, w.Error())
	}
	return out
}

func rangeArgs(r *http.Request) (time.Time, time.Time, int, error) {
	start, err := parseTime(r.FormValue("start"), time.Time{})
	if err != nil {
		return time.Time{}, time.Time{}, 0, err
	}
	end, err := parseTime(r.FormValue("end"), time.Time{})
	if err != nil {
		return time.Time{}, time.Time{}, 0, err
	}
	limit := 0
	if s := r.FormValue("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 0 {
			return time.Time{}, time.Time{}, 0, badData("limit must be a non-negative integer")
		}
	}
	return start, end, limit, nil
}

func (a *API) series(r *http.Request) (any, []string, error) {
	start, end, limit, err := rangeArgs(r)
	if err != nil {
		return nil, nil, err
	}
	ls, err := a.Store.Series(r.Context(), r.Form["match[]"], start, end, limit)
	if err != nil {
		return nil, nil, err
	}
	if ls == nil {
		ls = []labels.Labels{}
	}
	return ls, nil, nil
}

func (a *API) labelNames(r *http.Request) (any, []string, error) {
	start, end, limit, err := rangeArgs(r)
	if err != nil {
		return nil, nil, err
	}
	names, err := a.Store.LabelNames(r.Context(), r.Form["match[]"], start, end, limit)
	return names, nil, err
}

func (a *API) labelValues(r *http.Request) (any, []string, error) {
	name := r.PathValue("name")
	if name == "" || len(name) > 1024 {
		return nil, nil, badData("invalid label name: %q", name)
	}
	start, end, limit, err := rangeArgs(r)
	if err != nil {
		return nil, nil, err
	}
	values, err := a.Store.LabelValues(r.Context(), name, r.Form["match[]"], start, end, limit)
	return values, nil, err
}
