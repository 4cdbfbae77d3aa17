package monitor

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/prometheus/promql"

	"vigil/internal/httpjson"
	"vigil/internal/monitor/anomaly"
	"vigil/internal/monitor/forecast"
	"vigil/internal/monitor/series"
	"vigil/internal/store/metrics"
)

const maxBody = 1 << 20

// Register mounts the monitor and incident API on mux behind wrap (authentication).
func (e *Engine) Register(mux *http.ServeMux, wrap func(http.Handler) http.Handler) {
	h := func(pattern string, f http.HandlerFunc) { mux.Handle(pattern, wrap(f)) }
	h("GET /api/monitors", e.apiList)
	h("POST /api/monitors", e.apiCreate)
	h("POST /api/monitors/preview", e.apiPreview)
	h("POST /api/monitors/import", e.apiImport)
	h("GET /api/monitors/{id}", e.apiGet)
	h("PUT /api/monitors/{id}", e.apiReplace)
	h("DELETE /api/monitors/{id}", e.apiDelete)
	h("POST /api/monitors/{id}/mute", e.apiMute)
	h("DELETE /api/monitors/{id}/mute", e.apiUnmute)
	h("POST /api/monitors/{id}/evaluate", e.apiEvaluate)
	h("GET /api/monitors/{id}/incidents", e.apiMonitorIncidents)
	h("GET /api/monitors/{id}/notifications", e.apiMonitorNotifications)
	h("GET /api/monitors/{id}/graph.png", e.apiGraph)
	h("GET /api/incidents", e.apiIncidents)
	h("GET /api/incidents/{id}", e.apiIncident)
	h("GET /api/notifications", e.apiNotifications)
	h("POST /api/notifications/{id}/retry", e.apiRetry)
}

// decode answers 400 itself when the body is no monitor JSON. Unlike
// httpjson.Decode it refuses a body over maxBody outright ("request body too
// large") and has the server close the connection, rather than reading a
// cut-off body.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := httpjson.DecodeFrom(http.MaxBytesReader(w, r.Body, maxBody), v); err != nil {
		httpjson.Error(w, http.StatusBadRequest, err)
		return false
	}
	return true
}

func (e *Engine) apiList(w http.ResponseWriter, _ *http.Request) {
	httpjson.Write(w, http.StatusOK, e.List(false))
}

func (e *Engine) apiCreate(w http.ResponseWriter, r *http.Request) {
	m := &Monitor{}
	if !decode(w, r, m) {
		return
	}
	if err := e.Validate(m); err != nil {
		httpjson.Error(w, http.StatusBadRequest, err)
		return
	}
	if _, exists := e.Get(m.ID); exists {
		httpjson.Error(w, http.StatusConflict, fmt.Errorf("monitor %q exists; PUT /api/monitors/%s replaces it", m.ID, m.ID))
		return
	}
	if m.Source == "" {
		m.Source = "api"
	}
	e.put(w, r, m, http.StatusCreated)
}

func (e *Engine) put(w http.ResponseWriter, r *http.Request, m *Monitor, code int) {
	if err := e.Put(r.Context(), m); err != nil {
		httpjson.Error(w, http.StatusBadRequest, err)
		return
	}
	st, _ := e.StatusOf(m.ID)
	httpjson.Write(w, code, st)
}

func (e *Engine) apiReplace(w http.ResponseWriter, r *http.Request) {
	m := &Monitor{}
	if !decode(w, r, m) {
		return
	}
	if m.ID == "" {
		m.ID = r.PathValue("id")
	}
	if m.ID != r.PathValue("id") {
		httpjson.Error(w, http.StatusBadRequest, errors.New("id in body and path differ"))
		return
	}
	if m.Source == "" {
		m.Source = "api"
	}
	e.put(w, r, m, http.StatusOK)
}

func (e *Engine) apiGet(w http.ResponseWriter, r *http.Request) {
	st, ok := e.StatusOf(r.PathValue("id"))
	if !ok {
		httpjson.Error(w, http.StatusNotFound, ErrNotFound)
		return
	}
	httpjson.Write(w, http.StatusOK, st)
}

func (e *Engine) apiDelete(w http.ResponseWriter, r *http.Request) {
	if err := e.Delete(r.Context(), r.PathValue("id")); err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, ErrNotFound) {
			code = http.StatusNotFound
		}
		httpjson.Error(w, code, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (e *Engine) apiMute(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Until *time.Time `json:"until"`
		For   Duration   `json:"for"`
	}
	if !decode(w, r, &req) {
		return
	}
	until := e.now().Add(req.For.D())
	if req.Until != nil {
		until = *req.Until
	}
	if !until.After(e.now()) {
		httpjson.Error(w, http.StatusBadRequest, errors.New(`give "for" (e.g. "2h") or a future "until"`))
		return
	}
	e.setMute(w, r, &until)
}

func (e *Engine) apiUnmute(w http.ResponseWriter, r *http.Request) { e.setMute(w, r, nil) }

func (e *Engine) setMute(w http.ResponseWriter, r *http.Request, until *time.Time) {
	m, ok := e.Get(r.PathValue("id"))
	if !ok {
		httpjson.Error(w, http.StatusNotFound, ErrNotFound)
		return
	}
	cp := *m
	cp.Notify.MutedUntil = until
	e.put(w, r, &cp, http.StatusOK)
}

func (e *Engine) apiEvaluate(w http.ResponseWriter, r *http.Request) {
	if err := e.EvaluateNow(r.Context(), r.PathValue("id")); err != nil {
		code := http.StatusBadRequest
		if errors.Is(err, ErrNotFound) {
			code = http.StatusNotFound
		}
		httpjson.Error(w, code, err)
		return
	}
	st, _ := e.StatusOf(r.PathValue("id"))
	httpjson.Write(w, http.StatusOK, st)
}

func (e *Engine) apiMonitorIncidents(w http.ResponseWriter, r *http.Request) {
	ins, err := e.Store.Incidents(r.Context(), IncidentFilter{MonitorID: r.PathValue("id"), Limit: atoi(r.URL.Query().Get("limit"))})
	if err != nil {
		httpjson.Error(w, http.StatusInternalServerError, err)
		return
	}
	httpjson.Write(w, http.StatusOK, ins)
}

func (e *Engine) apiIncidents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ins, err := e.Store.Incidents(r.Context(), IncidentFilter{MonitorID: q.Get("monitor"), Open: q.Get("open") == "1" || q.Get("open") == "true", Limit: atoi(q.Get("limit"))})
	if err != nil {
		httpjson.Error(w, http.StatusInternalServerError, err)
		return
	}
	httpjson.Write(w, http.StatusOK, ins)
}

func (e *Engine) apiIncident(w http.ResponseWriter, r *http.Request) {
	id, ok := httpjson.PathID(w, r, "bad incident id")
	if !ok {
		return
	}
	in, err := e.Store.Incident(r.Context(), id)
	if err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, ErrNotFound) {
			code = http.StatusNotFound
		}
		httpjson.Error(w, code, err)
		return
	}
	ns, _ := e.Store.Notifications(r.Context(), "", id, 200)
	httpjson.Write(w, http.StatusOK, map[string]any{"incident": in, "notifications": ns})
}

func (e *Engine) apiMonitorNotifications(w http.ResponseWriter, r *http.Request) {
	ns, err := e.Store.Notifications(r.Context(), r.PathValue("id"), 0, atoi(r.URL.Query().Get("limit")))
	if err != nil {
		httpjson.Error(w, http.StatusInternalServerError, err)
		return
	}
	httpjson.Write(w, http.StatusOK, ns)
}

func (e *Engine) apiNotifications(w http.ResponseWriter, r *http.Request) {
	ns, err := e.Store.Notifications(r.Context(), r.URL.Query().Get("monitor"), 0, atoi(r.URL.Query().Get("limit")))
	if err != nil {
		httpjson.Error(w, http.StatusInternalServerError, err)
		return
	}
	httpjson.Write(w, http.StatusOK, ns)
}

func (e *Engine) apiRetry(w http.ResponseWriter, r *http.Request) {
	id, ok := httpjson.PathID(w, r, "bad notification id")
	if !ok {
		return
	}
	if err := e.Store.Retry(r.Context(), id, e.now()); err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, ErrNotFound) {
			code = http.StatusNotFound
		}
		httpjson.Error(w, code, fmt.Errorf("retry: %w (only failed notifications can be retried)", err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (e *Engine) apiImport(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFileSize))
	if err != nil {
		httpjson.Error(w, http.StatusRequestEntityTooLarge, err)
		return
	}
	ms, err := ImportPrometheusRules(data)
	if err != nil && len(ms) == 0 {
		httpjson.Error(w, http.StatusBadRequest, err)
		return
	}
	var ids []string
	var errs []string
	if err != nil {
		errs = append(errs, err.Error())
	}
	for _, m := range ms {
		if perr := e.Put(r.Context(), m); perr != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", m.ID, perr))
			continue
		}
		ids = append(ids, m.ID)
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"imported": ids, "errors": errs})
}

func (e *Engine) apiGraph(w http.ResponseWriter, r *http.Request) {
	m, ok := e.Get(r.PathValue("id"))
	if !ok {
		httpjson.Error(w, http.StatusNotFound, ErrNotFound)
		return
	}
	now := e.now()
	rng := parseDur(r.URL.Query().Get("range"), time.Hour)
	png, err := e.RenderGraph(r.Context(), GraphSpec{Query: m.Query, From: now.Add(-rng), To: now, Now: now, Thresholds: thresholds(m), Warning: m.Warning})
	if err != nil {
		httpjson.Error(w, http.StatusBadRequest, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	_, _ = w.Write(png)
}

func thresholds(m *Monitor) []float64 {
	var out []float64
	for _, t := range []*float64{m.Warning, m.Critical} {
		if t != nil {
			out = append(out, *t)
		}
	}
	return out
}

// PreviewSeries is one series of a preview: its points, and the band or
// projection the monitor would use.
type PreviewSeries struct {
	Labels   map[string]string `json:"labels"`
	Points   [][2]float64      `json:"points"`             // [unix seconds, value]
	Band     [][3]float64      `json:"band,omitempty"`     // [t, lower, upper]
	Forecast [][2]float64      `json:"forecast,omitempty"` // [t, projected]
	Crossing *time.Time        `json:"crossing,omitempty"`
	Learning bool              `json:"learning,omitempty"`
}

// Preview runs a monitor definition over the last `rng` without saving it.
type Preview struct {
	Series     []PreviewSeries `json:"series"`
	Thresholds []float64       `json:"thresholds"`
	Start      time.Time       `json:"start"`
	End        time.Time       `json:"end"`
	Step       float64         `json:"step"`
}

func (e *Engine) apiPreview(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Monitor Monitor  `json:"monitor"`
		Range   Duration `json:"range"`
	}
	if !decode(w, r, &req) {
		return
	}
	m := &req.Monitor
	if m.Name == "" {
		m.Name = "preview"
	}
	if err := e.Validate(m); err != nil {
		httpjson.Error(w, http.StatusBadRequest, err)
		return
	}
	p, err := e.Preview(r, m, req.Range.D())
	if err != nil {
		code := http.StatusInternalServerError
		var bq metrics.BadQueryError
		if errors.As(err, &bq) {
			code = http.StatusBadRequest
		}
		httpjson.Error(w, code, err)
		return
	}
	httpjson.Write(w, http.StatusOK, p)
}

// Preview computes the preview chart data of m over the last rng.
func (e *Engine) Preview(r *http.Request, m *Monitor, rng time.Duration) (*Preview, error) {
	if m.Kind == KindLog {
		return nil, errors.New("preview covers metric monitors; use the logs page for LogsQL")
	}
	if rng <= 0 {
		rng = 6 * time.Hour
		if m.Kind != KindThreshold {
			rng = 3 * 24 * time.Hour
		}
	}
	rng = min(rng, 30*24*time.Hour)
	now := e.now()
	step := max(rng/400, 15*time.Second).Truncate(time.Second)
	res, err := e.Metrics.QueryRange(r.Context(), m.Query, now.Add(-rng), now, step)
	if err != nil {
		return nil, err
	}
	mat, ok := res.Value.(promql.Matrix)
	if !ok {
		return nil, fmt.Errorf("query returns %s, not a vector", res.Value.Type())
	}
	p := &Preview{Thresholds: thresholds(m), Start: now.Add(-rng), End: now, Step: step.Seconds(), Series: []PreviewSeries{}}
	var hist map[string][]series.Point
	if m.Kind == KindAnomaly || m.Kind == KindForecast {
		if hist, err = e.history(r.Context(), m.Query, now.Add(-m.Training.D()), now, trainingStep(m.Training.D())); err != nil {
			return nil, err
		}
	}
	for i, s := range mat {
		if i >= 20 {
			break
		}
		ps := PreviewSeries{Labels: maps.Clone(s.Metric.Map())}
		for _, f := range s.Floats {
			ps.Points = append(ps.Points, [2]float64{float64(f.T) / 1000, f.F})
		}
		k := s.Metric.String()
		switch m.Kind {
		case KindAnomaly:
			mod, err := anomaly.Fit(hist[k])
			if err != nil {
				ps.Learning = true
				break
			}
			for t := now.Add(-rng).UnixMilli(); t <= now.UnixMilli(); t += step.Milliseconds() {
				lo, hi := mod.Band(t, m.Sensitivity)
				ps.Band = append(ps.Band, [3]float64{float64(t) / 1000, lo, hi})
			}
		case KindForecast:
			mod, err := forecast.Fit(hist[k])
			if err != nil {
				ps.Learning = true
				break
			}
			end := now.Add(m.Horizon.D())
			fstep := max(m.Horizon.D()/200, time.Minute)
			for t := now; !t.After(end); t = t.Add(fstep) {
				v := mod.At(t.UnixMilli())
				if !math.IsNaN(v) {
					ps.Forecast = append(ps.Forecast, [2]float64{float64(t.UnixMilli()) / 1000, v})
				}
			}
			for _, t := range []*float64{m.Critical, m.Warning} {
				if t != nil {
					if at, ok := mod.Crossing(now, m.Horizon.D(), *t, m.Op != "below"); ok {
						at = at.UTC()
						ps.Crossing = &at
						break
					}
				}
			}
		}
		p.Series = append(p.Series, ps)
	}
	return p, nil
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func parseDur(s string, def time.Duration) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > 90*24*time.Hour {
		return def
	}
	return d
}
