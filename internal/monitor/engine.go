package monitor

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/prometheus/promql"

	"vigil/internal/events"
	"vigil/internal/monitor/anomaly"
	"vigil/internal/monitor/forecast"
	"vigil/internal/monitor/series"
	"vigil/internal/notify"
	"vigil/internal/store/logs"
	"vigil/internal/store/metrics"
)

// States of one series of a monitor.
const (
	StateOK       = "ok"
	StatePending  = "pending"
	StateAlerting = "alerting"
	StateLearning = "learning"
)

// Severities.
const (
	SevWarning  = "warning"
	SevCritical = "critical"
)

// SeriesState is the persisted state of one series (one group) of a monitor.
type SeriesState struct {
	Labels       map[string]string `json:"labels"`
	State        string            `json:"state"`
	Severity     string            `json:"severity,omitempty"`
	Since        time.Time         `json:"since"`                 // current state entered
	ClearSince   time.Time         `json:"clear_since,omitzero"`  // alerting but clear since
	IncidentID   int64             `json:"incident_id,omitempty"` // open incident
	Peak         float64           `json:"peak"`
	LastNotified time.Time         `json:"last_notified,omitzero"`
	// Not persisted on every change; refreshed by each evaluation.
	Value    float64    `json:"value"`
	Message  string     `json:"message,omitempty"`
	Expected *float64   `json:"expected,omitempty"`
	Lower    *float64   `json:"lower,omitempty"`
	Upper    *float64   `json:"upper,omitempty"`
	Crossing *time.Time `json:"crossing,omitempty"`
	LastSeen time.Time  `json:"last_seen"`
}

// observation is what one evaluation says about one series.
type observation struct {
	labels                 map[string]string
	value                  float64
	severity               string // "" when the condition is clear
	learning               bool
	message                string
	expected, lower, upper *float64
	crossing               *time.Time
	score                  float64 // anomaly: deviation in σ
}

// Engine evaluates monitors and delivers their notifications.
type Engine struct {
	Store   *Store
	Metrics metrics.Store
	Logs    logs.Store    // may be nil
	Events  *events.Store // may be nil
	SMTP    notify.SMTPConfig
	// BaseURL is where users reach vigil, for links in notifications.
	BaseURL string
	Log     *slog.Logger
	HTTP    *http.Client
	// OnIncident is told about each incident opened or resolved (e.g. to record an event).
	OnIncident func(ctx context.Context, in Incident, event string)
	// Workers evaluate monitors in parallel (default 2).
	Workers int
	// Now is the clock (tests replace it).
	Now func() time.Time

	mu       sync.Mutex
	monitors map[string]*runtime
	wake     chan struct{}
}

type runtime struct {
	mu       sync.Mutex // held while evaluating
	def      *Monitor
	next     time.Time
	states   map[string]*SeriesState
	models   map[string]any // anomaly.Model or forecast.Model per series key
	modelsAt time.Time
	lastEval time.Time
	lastDur  time.Duration
	lastErr  string
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) log() *slog.Logger {
	if e.Log == nil {
		return slog.Default()
	}
	return e.Log
}

// Load reads the stored monitors into the engine.
func (e *Engine) Load(ctx context.Context) error {
	ms, err := e.Store.Monitors(ctx)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.monitors == nil {
		e.monitors = map[string]*runtime{}
	}
	for _, m := range ms {
		e.monitors[m.ID] = &runtime{def: m}
	}
	return nil
}

// Validate checks a definition, including its query.
func (e *Engine) Validate(m *Monitor) error {
	return m.Normalize(func(kind, q string) error {
		if kind == KindEvent {
			return nil
		}
		if kind == KindLog {
			if e.Logs == nil {
				return errors.New("no log store")
			}
			return nil // the logs store reports syntax errors on first evaluation
		}
		_, err := promqlParse(q)
		return err
	})
}

// Put validates, stores and schedules a monitor (created or replaced).
func (e *Engine) Put(ctx context.Context, m *Monitor) error {
	if err := e.Validate(m); err != nil {
		return err
	}
	now := e.now().UTC()
	e.mu.Lock()
	if e.monitors == nil {
		e.monitors = map[string]*runtime{}
	}
	old := e.monitors[m.ID]
	e.mu.Unlock()
	if old != nil {
		m.Created = old.def.Created
	}
	if m.Created.IsZero() {
		m.Created = now
	}
	m.Updated = now
	if err := e.Store.PutMonitor(ctx, m); err != nil {
		return err
	}
	if old != nil {
		// Never hold e.mu while waiting for a runtime: evaluation takes e.mu (Graph).
		old.mu.Lock()
		old.def = m
		old.models, old.next = nil, time.Time{} // the query may have changed
		old.mu.Unlock()
	} else {
		e.mu.Lock()
		e.monitors[m.ID] = &runtime{def: m}
		e.mu.Unlock()
	}
	e.poke()
	return nil
}

// Delete removes a monitor. Open incidents are closed without notification.
func (e *Engine) Delete(ctx context.Context, id string) error {
	if err := e.Store.DeleteMonitor(ctx, id); err != nil {
		return err
	}
	e.mu.Lock()
	rt := e.monitors[id]
	delete(e.monitors, id)
	e.mu.Unlock()
	if rt != nil {
		rt.mu.Lock()
		defer rt.mu.Unlock()
		now := e.now()
		for _, st := range rt.states {
			if st.IncidentID != 0 {
				_ = e.Store.updateIncident(ctx, st.IncidentID, st.Severity, st.Peak, st.Value, "monitor deleted", &now)
			}
		}
	}
	return nil
}

// Get returns a monitor's definition.
func (e *Engine) Get(id string) (*Monitor, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rt, ok := e.monitors[id]
	if !ok {
		return nil, false
	}
	return rt.def, true
}

// Status is a monitor with its live state.
type Status struct {
	*Monitor
	State      string         `json:"state"` // worst over its series
	Severity   string         `json:"severity,omitempty"`
	LastChange time.Time      `json:"last_change,omitzero"`
	LastEval   time.Time      `json:"last_eval,omitzero"`
	EvalMillis float64        `json:"eval_ms"`
	Error      string         `json:"error,omitempty"`
	Series     []SeriesStatus `json:"series,omitempty"`
}

// SeriesStatus is one series' state.
type SeriesStatus struct {
	Key string `json:"key"`
	*SeriesState
}

// List returns every monitor with its state, by name.
func (e *Engine) List(withSeries bool) []Status {
	e.mu.Lock()
	rts := make([]*runtime, 0, len(e.monitors))
	for _, rt := range e.monitors {
		rts = append(rts, rt)
	}
	e.mu.Unlock()
	out := make([]Status, 0, len(rts))
	for _, rt := range rts {
		out = append(out, rt.status(withSeries))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// StatusOf returns one monitor's state.
func (e *Engine) StatusOf(id string) (Status, bool) {
	e.mu.Lock()
	rt, ok := e.monitors[id]
	e.mu.Unlock()
	if !ok {
		return Status{}, false
	}
	return rt.status(true), true
}

var stateRank = map[string]int{StateOK: 0, StateLearning: 1, StatePending: 2, StateAlerting: 3}

func (rt *runtime) status(withSeries bool) Status {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	s := Status{Monitor: rt.def, State: StateOK, LastEval: rt.lastEval, EvalMillis: float64(rt.lastDur.Microseconds()) / 1000, Error: rt.lastErr}
	if !rt.def.IsEnabled() {
		s.State = "disabled"
	}
	keys := make([]string, 0, len(rt.states))
	for k := range rt.states {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		st := rt.states[k]
		if s.State != "disabled" && stateRank[st.State] > stateRank[s.State] {
			s.State = st.State
		}
		if st.Severity == SevCritical || (st.Severity == SevWarning && s.Severity == "") {
			if st.State == StateAlerting {
				s.Severity = st.Severity
			}
		}
		if st.Since.After(s.LastChange) {
			s.LastChange = st.Since
		}
		if withSeries {
			cp := *st
			s.Series = append(s.Series, SeriesStatus{Key: k, SeriesState: &cp})
		}
	}
	return s
}

func (e *Engine) poke() {
	if e.wake == nil {
		return
	}
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run evaluates due monitors and delivers notifications until ctx ends.
func (e *Engine) Run(ctx context.Context) {
	e.mu.Lock()
	if e.wake == nil {
		e.wake = make(chan struct{}, 1)
	}
	e.mu.Unlock()
	var wg sync.WaitGroup
	wg.Go(func() { e.deliverLoop(ctx) })
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		e.Tick(ctx, e.now())
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-t.C:
		case <-e.wake:
		}
	}
}

// Tick evaluates every monitor due at now and returns how many it evaluated.
func (e *Engine) Tick(ctx context.Context, now time.Time) int {
	e.mu.Lock()
	var due []*runtime
	for _, rt := range e.monitors {
		if rt.def.IsEnabled() && !now.Before(rt.next) {
			due = append(due, rt)
		}
	}
	e.mu.Unlock()
	workers := e.Workers
	if workers <= 0 {
		workers = 2
	}
	ch := make(chan *runtime)
	var wg sync.WaitGroup
	for range min(workers, len(due)) {
		wg.Go(func() {
			for rt := range ch {
				e.evaluate(ctx, rt, now)
			}
		})
	}
	for _, rt := range due {
		ch <- rt
	}
	close(ch)
	wg.Wait()
	return len(due)
}

// EvaluateNow evaluates one monitor immediately (for the API and tests).
func (e *Engine) EvaluateNow(ctx context.Context, id string) error {
	e.mu.Lock()
	rt, ok := e.monitors[id]
	e.mu.Unlock()
	if !ok {
		return ErrNotFound
	}
	e.evaluate(ctx, rt, e.now())
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.lastErr != "" {
		return errors.New(rt.lastErr)
	}
	return nil
}

func (e *Engine) evaluate(ctx context.Context, rt *runtime, now time.Time) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	m := rt.def
	// Align to the interval so a restart keeps the same rhythm.
	rt.next = now.Truncate(m.Interval.D()).Add(m.Interval.D())
	start := time.Now()
	if rt.states == nil {
		st, err := e.Store.States(ctx, m.ID)
		if err != nil {
			rt.lastErr = err.Error()
			return
		}
		rt.states = st
	}
	obs, err := e.observe(ctx, rt, now)
	rt.lastEval, rt.lastDur = now, time.Since(start)
	if err != nil {
		rt.lastErr = err.Error()
		e.log().Warn("monitor evaluation failed", "monitor", m.ID, "err", err)
		// A failing query is not "no data": hold every state.
		return
	}
	rt.lastErr = ""
	changed := map[string]*SeriesState{}
	var removed []string
	seen := map[string]bool{}
	for k, o := range obs {
		seen[k] = true
		st := rt.states[k]
		if st == nil {
			st = &SeriesState{Labels: o.labels, State: StateOK, Since: now}
			rt.states[k] = st
			changed[k] = st
		}
		if e.step(ctx, m, k, st, o, now) {
			changed[k] = st
		}
	}
	for k, st := range rt.states {
		if seen[k] {
			continue
		}
		switch m.NoData {
		case "keep":
			continue
		case "alert":
			o := observation{labels: st.Labels, value: math.NaN(), severity: SevCritical, message: "no data"}
			if e.step(ctx, m, k, st, o, now) {
				changed[k] = st
			}
		default:
			o := observation{labels: st.Labels, value: math.NaN(), message: "no data"}
			e.step(ctx, m, k, st, o, now)
			if st.State == StateOK || st.State == StateLearning || st.State == StatePending {
				delete(rt.states, k)
				delete(changed, k)
				removed = append(removed, k)
			} else {
				changed[k] = st
			}
		}
	}
	if len(changed) > 0 || len(removed) > 0 {
		if err := e.Store.SaveStates(ctx, m.ID, changed, removed); err != nil {
			rt.lastErr = err.Error()
		}
	}
}

// step advances one series' state machine; it reports whether the persisted state changed.
func (e *Engine) step(ctx context.Context, m *Monitor, key string, st *SeriesState, o observation, now time.Time) bool {
	st.Value, st.Message, st.LastSeen = o.value, o.message, now
	st.Expected, st.Lower, st.Upper, st.Crossing = o.expected, o.lower, o.upper, o.crossing
	if len(o.labels) > 0 {
		st.Labels = o.labels
	}
	breach := o.severity != ""
	switch st.State {
	case StateOK, StateLearning, "":
		if o.learning {
			if st.State != StateLearning {
				st.State, st.Since = StateLearning, now
				return true
			}
			return false
		}
		if !breach {
			if st.State != StateOK {
				st.State, st.Since = StateOK, now
				return true
			}
			return false
		}
		st.State, st.Since, st.Severity = StatePending, now, o.severity
		if m.For.D() <= 0 {
			e.fire(ctx, m, key, st, o, now)
		}
		return true
	case StatePending:
		if !breach {
			st.State, st.Since, st.Severity = StateOK, now, ""
			return true
		}
		st.Severity = o.severity
		if now.Sub(st.Since) >= m.For.D() {
			e.fire(ctx, m, key, st, o, now)
			return true
		}
		return false
	case StateAlerting:
		if breach {
			changed := !st.ClearSince.IsZero()
			st.ClearSince = time.Time{}
			worse := more(m, o, st.Peak)
			if worse {
				st.Peak = o.value
			}
			if o.severity != st.Severity {
				escalate := o.severity == SevCritical
				st.Severity = o.severity
				e.updateIncident(ctx, m, st, o, nil)
				if escalate {
					e.queue(ctx, m, st, "escalate", now)
				}
				return true
			}
			if worse {
				e.updateIncident(ctx, m, st, o, nil)
			}
			if m.Notify.Renotify > 0 && now.Sub(st.LastNotified) >= m.Notify.Renotify.D() {
				e.queue(ctx, m, st, "renotify", now)
				return true
			}
			return changed
		}
		if st.ClearSince.IsZero() {
			st.ClearSince = now
		}
		if now.Sub(st.ClearSince) < m.ResolveFor.D() {
			return true
		}
		// Resolved.
		e.updateIncident(ctx, m, st, o, &now)
		if m.NotifyOnResolve() {
			e.queue(ctx, m, st, "resolve", now)
		}
		if e.OnIncident != nil {
			if in, err := e.Store.Incident(ctx, st.IncidentID); err == nil {
				e.OnIncident(ctx, in, "resolved")
			}
		}
		st.State, st.Since, st.Severity, st.IncidentID, st.ClearSince, st.Peak = StateOK, now, "", 0, time.Time{}, 0
		return true
	}
	return false
}

// more reports whether o is worse than the peak so far.
func more(m *Monitor, o observation, peak float64) bool {
	if math.IsNaN(o.value) {
		return false
	}
	if math.IsNaN(peak) {
		return true
	}
	if m.Kind == KindAnomaly && o.expected != nil {
		return math.Abs(o.value-*o.expected) > math.Abs(peak-*o.expected)
	}
	if m.Op == "below" {
		return o.value < peak
	}
	return o.value > peak
}

func (e *Engine) fire(ctx context.Context, m *Monitor, key string, st *SeriesState, o observation, now time.Time) {
	st.State, st.Since, st.Severity, st.Peak, st.ClearSince = StateAlerting, now, o.severity, o.value, time.Time{}
	in := &Incident{MonitorID: m.ID, MonitorName: m.Name, Key: key, Labels: st.Labels, Severity: o.severity,
		Started: now, Peak: o.value, Last: o.value, Message: o.message}
	if err := e.Store.openIncident(ctx, in); err != nil {
		e.log().Error("open incident", "monitor", m.ID, "err", err)
		return
	}
	st.IncidentID = in.ID
	e.queue(ctx, m, st, "alert", now)
	if e.OnIncident != nil {
		e.OnIncident(ctx, *in, "opened")
	}
}

func (e *Engine) updateIncident(ctx context.Context, m *Monitor, st *SeriesState, o observation, ended *time.Time) {
	if st.IncidentID == 0 {
		return
	}
	msg := o.message
	if ended != nil {
		msg = "resolved: " + o.message
	}
	if err := e.Store.updateIncident(ctx, st.IncidentID, st.Severity, st.Peak, o.value, msg, ended); err != nil {
		e.log().Error("update incident", "monitor", m.ID, "err", err)
	}
}

// observe runs the monitor's query and judges every series.
func (e *Engine) observe(ctx context.Context, rt *runtime, now time.Time) (map[string]observation, error) {
	m := rt.def
	switch m.Kind {
	case KindThreshold:
		return e.observeThreshold(ctx, rt, now)
	case KindAnomaly:
		return e.observeAnomaly(ctx, rt, now)
	case KindForecast:
		return e.observeForecast(ctx, rt, now)
	case KindLog:
		return e.observeLog(ctx, rt, now)
	case KindEvent:
		return e.observeEvents(ctx, rt, now)
	}
	return nil, fmt.Errorf("unknown kind %q", m.Kind)
}

// queryTimeout bounds one query of an evaluation (model fitting is not counted).
const queryTimeout = 30 * time.Second

func (e *Engine) instant(ctx context.Context, q string, now time.Time) (promql.Vector, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	res, err := e.Metrics.Query(ctx, q, now)
	if err != nil {
		return nil, err
	}
	switch v := res.Value.(type) {
	case promql.Vector:
		return v, nil
	case promql.Scalar:
		return promql.Vector{{T: v.T, F: v.V}}, nil
	}
	return nil, fmt.Errorf("query returns %s, not an instant vector", res.Value.Type())
}

func (e *Engine) observeThreshold(ctx context.Context, rt *runtime, now time.Time) (map[string]observation, error) {
	m := rt.def
	vec, err := e.instant(ctx, m.Query, now)
	if err != nil {
		return nil, err
	}
	out := make(map[string]observation, len(vec))
	for _, s := range vec {
		if s.H != nil {
			continue
		}
		lb := s.Metric.Map()
		k := s.Metric.String()
		prev := ""
		if st := rt.states[k]; st != nil && st.State == StateAlerting {
			prev = st.Severity
		}
		sev := level(m, s.F, prev)
		out[k] = observation{labels: lb, value: s.F, severity: sev, message: thresholdMessage(m, s.F, sev)}
	}
	return out, nil
}

func breached(m *Monitor, v float64, t *float64) bool {
	if t == nil || math.IsNaN(v) {
		return false
	}
	if m.Op == "below" {
		return v < *t
	}
	return v > *t
}

// recovered reports whether v is back past the recovery threshold r (or t when r is unset).
func recovered(m *Monitor, v float64, t, r *float64) bool {
	if r == nil {
		return !breached(m, v, t)
	}
	if m.Op == "below" {
		return v >= *r
	}
	return v <= *r
}

// level is the severity of v given the previous severity (hysteresis).
func level(m *Monitor, v float64, prev string) string {
	switch {
	case breached(m, v, m.Critical):
		return SevCritical
	case prev == SevCritical && m.Critical != nil && !recovered(m, v, m.Critical, m.CriticalRecovery):
		return SevCritical
	case breached(m, v, m.Warning):
		return SevWarning
	case prev != "" && m.Warning != nil && !recovered(m, v, m.Warning, m.WarningRecovery):
		return SevWarning
	}
	return ""
}

func thresholdMessage(m *Monitor, v float64, sev string) string {
	t := m.Critical
	if sev == SevWarning || t == nil {
		t = m.Warning
	}
	if t == nil {
		return fmt.Sprintf("value %s", fmtNum(v))
	}
	return fmt.Sprintf("value %s is %s the %s threshold %s", fmtNum(v), m.Op, orStr(sev, "alert"), fmtNum(*t))
}

func orStr(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// fmtNum prints a value compactly.
func fmtNum(v float64) string {
	if math.IsNaN(v) {
		return "no data"
	}
	a := math.Abs(v)
	switch {
	case a == 0:
		return "0"
	case a >= 1e6 || a < 1e-3:
		return fmt.Sprintf("%.3g", v)
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
}

// trainingStep keeps a training range query near 4,000 points per series.
func trainingStep(training time.Duration) time.Duration {
	st := (training / 4000).Truncate(time.Minute)
	return min(max(st, time.Minute), 15*time.Minute)
}

func (e *Engine) history(ctx context.Context, q string, from, to time.Time, step time.Duration) (map[string][]series.Point, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*queryTimeout)
	defer cancel()
	res, err := e.Metrics.QueryRange(ctx, q, from, to, step)
	if err != nil {
		return nil, fmt.Errorf("training query: %w", err)
	}
	mat, ok := res.Value.(promql.Matrix)
	if !ok {
		return nil, fmt.Errorf("training query returns %s", res.Value.Type())
	}
	out := make(map[string][]series.Point, len(mat))
	for _, s := range mat {
		ps := make([]series.Point, len(s.Floats))
		for i, f := range s.Floats {
			ps[i] = series.Point{T: f.T, V: f.F}
		}
		out[s.Metric.String()] = ps
	}
	return out, nil
}

// jitter spreads the refits of many monitors over time instead of one tick.
func jitter(id string, span time.Duration) time.Duration {
	h := fnv.New32a()
	h.Write([]byte(id))
	return time.Duration(h.Sum32()%1000) * span / 1000
}

// refitEvery bounds how stale a learned model may be.
const (
	anomalyRefit  = time.Hour
	forecastRefit = 15 * time.Minute
)

// observeModeled refits rt's per-series models once they are older than
// refit (or from the future, after a clock step) and hands every current
// sample to judge with its model; mod is nil while a series has too little
// history to fit.
func observeModeled[M any](ctx context.Context, e *Engine, rt *runtime, now time.Time, refit time.Duration,
	fit func([]series.Point) (*M, error), judge func(o *observation, s promql.Sample, mod *M)) (map[string]observation, error) {
	m := rt.def
	if rt.models == nil || now.Sub(rt.modelsAt) >= refit || now.Before(rt.modelsAt) {
		hist, err := e.history(ctx, m.Query, now.Add(-m.Training.D()), now, trainingStep(m.Training.D()))
		if err != nil {
			return nil, err
		}
		rt.models = make(map[string]any, len(hist))
		for k, ps := range hist {
			if mod, err := fit(ps); err == nil {
				rt.models[k] = mod
			}
		}
		rt.modelsAt = now
	}
	vec, err := e.instant(ctx, m.Query, now)
	if err != nil {
		return nil, err
	}
	out := make(map[string]observation, len(vec))
	for _, s := range vec {
		k := s.Metric.String()
		o := observation{labels: s.Metric.Map(), value: s.F}
		mod, _ := rt.models[k].(*M)
		judge(&o, s, mod)
		out[k] = o
	}
	return out, nil
}

func (e *Engine) observeAnomaly(ctx context.Context, rt *runtime, now time.Time) (map[string]observation, error) {
	m := rt.def
	refit := anomalyRefit + jitter(m.ID, anomalyRefit/4)
	return observeModeled(ctx, e, rt, now, refit, anomaly.Fit, func(o *observation, s promql.Sample, mod *anomaly.Model) {
		if mod == nil {
			o.learning = true
			o.message = "still learning this series' normal (needs a day of history)"
			return
		}
		v := mod.Check(now.UnixMilli(), s.F, m.Sensitivity)
		o.expected, o.lower, o.upper, o.score = &v.Expected, &v.Lower, &v.Upper, v.Score
		if v.Outside {
			o.severity = SevCritical
			dir := "above"
			if s.F < v.Lower {
				dir = "below"
			}
			o.message = fmt.Sprintf("value %s is %s the normal band %s – %s (expected %s, %.1fσ)", fmtNum(s.F), dir, fmtNum(v.Lower), fmtNum(v.Upper), fmtNum(v.Expected), math.Abs(v.Score))
		} else {
			o.message = fmt.Sprintf("value %s within the normal band %s – %s", fmtNum(s.F), fmtNum(v.Lower), fmtNum(v.Upper))
		}
	})
}

func (e *Engine) observeForecast(ctx context.Context, rt *runtime, now time.Time) (map[string]observation, error) {
	m := rt.def
	refit := max(forecastRefit, m.Interval.D()) + jitter(m.ID, forecastRefit/4)
	return observeModeled(ctx, e, rt, now, refit, forecast.Fit, func(o *observation, _ promql.Sample, mod *forecast.Model) {
		if mod == nil {
			o.learning, o.message = true, "still learning: not enough history to forecast"
			return
		}
		for _, c := range []struct {
			sev string
			t   *float64
		}{{SevCritical, m.Critical}, {SevWarning, m.Warning}} {
			if c.t == nil {
				continue
			}
			at, ok := mod.Crossing(now, m.Horizon.D(), *c.t, m.Op != "below")
			if ok {
				at = at.UTC()
				o.severity, o.crossing = c.sev, &at
				o.message = fmt.Sprintf("predicted to reach %s on %s (in %s)", fmtNum(*c.t), at.Format("Mon 2006-01-02 15:04 MST"), humanDuration(at.Sub(now)))
				break
			}
		}
		if o.severity == "" {
			o.message = fmt.Sprintf("not predicted to cross within %s", humanDuration(m.Horizon.D()))
		}
	})
}

func humanDuration(d time.Duration) string {
	if d < time.Minute {
		return "less than a minute"
	}
	days := int(d / (24 * time.Hour))
	h := int(d%(24*time.Hour)) / int(time.Hour)
	mins := int(d%time.Hour) / int(time.Minute)
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, h)
	case h > 0:
		return fmt.Sprintf("%dh %dm", h, mins)
	}
	return fmt.Sprintf("%dm", mins)
}

func (e *Engine) observeLog(ctx context.Context, rt *runtime, now time.Time) (map[string]observation, error) {
	m := rt.def
	if e.Logs == nil {
		return nil, errors.New("no log store")
	}
	w := m.Window.D()
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	hs, err := e.Logs.Hits(ctx, m.Query, logs.Range{Start: now.Add(-w), End: now}, w, m.GroupBy, 100)
	if err != nil {
		return nil, fmt.Errorf("log query: %w", err)
	}
	out := map[string]observation{}
	for _, h := range hs {
		k := logKey(h.Fields)
		v := float64(h.Total)
		prev := ""
		if st := rt.states[k]; st != nil && st.State == StateAlerting {
			prev = st.Severity
		}
		sev := level(m, v, prev)
		out[k] = observation{labels: h.Fields, value: v, severity: sev, message: fmt.Sprintf("%d matching lines in %s", h.Total, w)}
	}
	if len(m.GroupBy) == 0 && len(out) == 0 {
		// Zero lines is a count, not missing data.
		prev := ""
		if st := rt.states["{}"]; st != nil && st.State == StateAlerting {
			prev = st.Severity
		}
		out["{}"] = observation{labels: map[string]string{}, value: 0, severity: level(m, 0, prev), message: fmt.Sprintf("0 matching lines in %s", w)}
	}
	return out, nil
}

func logKey(f map[string]string) string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%q", k, f[k])
	}
	b.WriteByte('}')
	return b.String()
}

// Options configure Open.
type Options struct {
	DB      *sql.DB
	Metrics metrics.Store
	Logs    logs.Store
	Events  *events.Store
	SMTP    notify.SMTPConfig
	Dir     string // monitor files loaded at start (optional)
	BaseURL string
	Log     *slog.Logger
}

// Open creates the tables, loads stored monitors and then the files of Dir
// (a file's monitor replaces the stored one of the same id).
func Open(ctx context.Context, o Options) (*Engine, error) {
	st, err := OpenStore(ctx, o.DB)
	if err != nil {
		return nil, err
	}
	if o.BaseURL == "" {
		o.BaseURL = "http://localhost:8080"
	}
	e := &Engine{Store: st, Metrics: o.Metrics, Logs: o.Logs, Events: o.Events, SMTP: o.SMTP, BaseURL: o.BaseURL, Log: o.Log,
		HTTP: &http.Client{Timeout: 30 * time.Second}, wake: make(chan struct{}, 1)}
	if o.Events != nil {
		e.RecordIncidentEvents(o.Events)
	}
	if err := e.Load(ctx); err != nil {
		return nil, err
	}
	if o.Dir != "" {
		ms, err := LoadDir(o.Dir)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if err := e.Put(ctx, m); err != nil {
				return nil, fmt.Errorf("monitor %s from %s: %w", m.ID, m.Source, err)
			}
		}
		e.log().Info("monitors loaded from files", "dir", o.Dir, "count", len(ms))
	}
	return e, nil
}

// maxEventsCounted bounds one event monitor evaluation.
const maxEventsCounted = 10000

func (e *Engine) observeEvents(ctx context.Context, rt *runtime, now time.Time) (map[string]observation, error) {
	m := rt.def
	if e.Events == nil {
		return nil, errors.New("no event store")
	}
	f := m.Events
	w := m.Window.D()
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	evs, err := e.Events.Find(ctx, events.Filter{Types: f.Types, Sources: f.Sources, Reasons: f.Reasons, Namespaces: f.Namespaces,
		Kinds: f.Kinds, Name: f.Name, Text: f.Text, Start: now.Add(-w), End: now, Limit: maxEventsCounted})
	if err != nil {
		return nil, err
	}
	counts := map[string]float64{}
	groups := map[string]map[string]string{}
	last := map[string]string{}
	for _, ev := range evs {
		if ev.Source == "vigil/monitor" {
			continue // never count our own incidents
		}
		g := map[string]string{}
		for _, k := range m.GroupBy {
			g[k] = eventField(ev, k)
		}
		k := logKey(g)
		groups[k] = g
		n := max(ev.Count, 1)
		counts[k] += float64(n)
		if _, seen := last[k]; !seen { // newest first
			last[k] = ev.Reason + ": " + ev.Message
		}
	}
	if len(m.GroupBy) == 0 && len(counts) == 0 {
		groups["{}"], counts["{}"] = map[string]string{}, 0
	}
	out := map[string]observation{}
	for k, v := range counts {
		prev := ""
		if st := rt.states[k]; st != nil && st.State == StateAlerting {
			prev = st.Severity
		}
		msg := fmt.Sprintf("%d matching events in %s", int(v), w)
		if last[k] != "" {
			msg += "; latest: " + truncate(last[k], 300)
		}
		out[k] = observation{labels: groups[k], value: v, severity: level(m, v, prev), message: msg}
	}
	return out, nil
}

func eventField(ev events.Event, k string) string {
	switch k {
	case "namespace":
		return ev.Namespace
	case "kind":
		return ev.Kind
	case "name":
		return ev.Name
	case "reason":
		return ev.Reason
	case "node":
		return ev.Node
	case "type":
		return ev.Type
	case "source":
		return ev.Source
	}
	return ev.Tags[k]
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// RecordIncidentEvents makes every incident opened or resolved an event in the stream.
func (e *Engine) RecordIncidentEvents(store *events.Store) {
	e.OnIncident = func(ctx context.Context, in Incident, what string) {
		ev := events.Event{Time: e.now(), Type: events.Warning, Source: "vigil/monitor", Reason: "MonitorAlert",
			Message:   fmt.Sprintf("%s %s (%s): %s", in.MonitorName, what, in.Severity, in.Message),
			Namespace: in.Labels["namespace"], Node: in.Labels["node"],
			Tags: map[string]string{"monitor": in.MonitorID, "incident": fmt.Sprint(in.ID), "severity": in.Severity}}
		if what == "resolved" {
			ev.Type, ev.Reason = events.Normal, "MonitorResolved"
		}
		for _, k := range []string{"pod", "deployment", "statefulset", "daemonset", "node"} {
			if v := in.Labels[k]; v != "" {
				ev.Kind, ev.Name = strings.ToUpper(k[:1])+k[1:], v
				break
			}
		}
		if err := store.Record(ctx, ev); err != nil {
			e.log().Warn("record incident event", "monitor", in.MonitorID, "err", err)
		}
	}
}
