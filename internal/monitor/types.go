// Package monitor evaluates monitors — threshold, anomaly and forecast on
// PromQL, counts on LogsQL — on a schedule, runs each series through an
// OK → pending → alerting → resolved state machine, records incidents and
// queues their notifications.
package monitor

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/model"

	"vigil/internal/monitor/anomaly"
)

// Kinds of monitor.
const (
	KindThreshold = "threshold"
	KindAnomaly   = "anomaly"
	KindForecast  = "forecast"
	KindLog       = "log"
	KindEvent     = "event"
)

// Duration is a time.Duration written as "5m" in JSON and YAML.
type Duration time.Duration

func (d Duration) MarshalText() ([]byte, error) { return []byte(model.Duration(d).String()), nil }

// UnmarshalText accepts Go and Prometheus durations: "90s", "1h30m", "14d", "2w".
func (d *Duration) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(string(b))
	if err != nil {
		pv, perr := model.ParseDuration(string(b))
		if perr != nil {
			return fmt.Errorf("bad duration %q (e.g. 30s, 5m, 2h, 14d)", b)
		}
		v = time.Duration(pv)
	}
	*d = Duration(v)
	return nil
}

// D is the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Monitor is one monitor's definition, as stored, sent by the API and written in YAML files.
type Monitor struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Kind        string            `json:"kind"`
	Query       string            `json:"query"` // PromQL, or LogsQL for log monitors
	Labels      map[string]string `json:"labels,omitempty"`
	Interval    Duration          `json:"interval,omitempty"` // default 1m
	Enabled     *bool             `json:"enabled,omitempty"`  // default true

	// Threshold (and log count) conditions.
	Op       string   `json:"op,omitempty"`       // "above" (default) or "below"
	Warning  *float64 `json:"warning,omitempty"`  // optional
	Critical *float64 `json:"critical,omitempty"` // at least one of warning/critical for threshold
	// Recovery thresholds (hysteresis): an alert resolves only once the value
	// is back past these; default the alerting thresholds.
	WarningRecovery  *float64 `json:"warning_recovery,omitempty"`
	CriticalRecovery *float64 `json:"critical_recovery,omitempty"`
	For              Duration `json:"for,omitempty"`         // breach must last this long
	ResolveFor       Duration `json:"resolve_for,omitempty"` // flap protection: clear must last this long

	// Anomaly.
	Sensitivity anomaly.Sensitivity `json:"sensitivity,omitempty"`
	Training    Duration            `json:"training,omitempty"` // history the model learns from; default 14d

	// Forecast: alert when the projection crosses Critical (or Warning) within Horizon.
	Horizon Duration `json:"horizon,omitempty"` // default 7d

	// Log monitors count matching lines in Window, grouped by GroupBy fields.
	Window  Duration `json:"window,omitempty"` // default 5m
	GroupBy []string `json:"group_by,omitempty"`

	// Events selects the events an event monitor counts in Window (grouped by GroupBy:
	// namespace, kind, name, reason, node, type, source).
	Events *EventFilter `json:"events,omitempty"`

	// NoData: "ok" (default: nothing), "alert" (alert when a series disappears
	// or the query returns nothing) or "keep" (hold the last state).
	NoData string `json:"no_data,omitempty"`

	Notify Notify `json:"notify,omitzero"`
	// Source says where the definition came from: "api", "file:<path>" or "import".
	Source  string    `json:"source,omitempty"`
	Created time.Time `json:"created,omitzero"`
	Updated time.Time `json:"updated,omitzero"`
}

// EventFilter selects Kubernetes and vigil events; empty fields match everything.
type EventFilter struct {
	Types      []string `json:"types,omitempty"`   // Normal, Warning
	Sources    []string `json:"sources,omitempty"` // kubernetes, vigil/…
	Reasons    []string `json:"reasons,omitempty"` // OOMKilled, BackOff, FailedScheduling…
	Namespaces []string `json:"namespaces,omitempty"`
	Kinds      []string `json:"kinds,omitempty"`
	Name       string   `json:"name,omitempty"`
	Text       string   `json:"text,omitempty"` // words in the message
}

// Notify says who hears about a monitor's alerts, and how.
type Notify struct {
	Email   []string `json:"email,omitempty"`
	Webhook []string `json:"webhook,omitempty"` // Alertmanager-compatible JSON
	Slack   []string `json:"slack,omitempty"`   // Slack incoming-webhook URLs
	// Subject and Body are Go text/templates over the alert (see docs/api.md).
	Subject  string   `json:"subject,omitempty"`
	Body     string   `json:"body,omitempty"`
	Renotify Duration `json:"renotify,omitempty"` // repeat while open; 0 = never
	// OnResolve sends a notification when an incident ends (default true).
	OnResolve *bool `json:"on_resolve,omitempty"`
	// MutedUntil silences notifications (incidents are still recorded).
	MutedUntil *time.Time `json:"muted_until,omitempty"`
	// Maintenance windows silence notifications while they last.
	Maintenance []Window `json:"maintenance,omitempty"`
}

// Window is a maintenance window: once (Start–End), or every day or week
// between the clock times of Start and End when Repeat is "daily" or "weekly".
type Window struct {
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Repeat string    `json:"repeat,omitempty"`
}

// Contains reports whether t falls inside the window.
func (w Window) Contains(t time.Time) bool {
	if !w.End.After(w.Start) {
		return false
	}
	switch w.Repeat {
	case "":
		return !t.Before(w.Start) && t.Before(w.End)
	case "daily", "weekly":
		period := 24 * time.Hour
		if w.Repeat == "weekly" {
			period *= 7
		}
		if w.End.Sub(w.Start) >= period {
			return !t.Before(w.Start)
		}
		if t.Before(w.Start) {
			return false
		}
		off := t.Sub(w.Start) % period
		return off < w.End.Sub(w.Start)
	}
	return false
}

// IsEnabled is Enabled with its default.
func (m *Monitor) IsEnabled() bool { return m.Enabled == nil || *m.Enabled }

// NotifyOnResolve is Notify.OnResolve with its default.
func (m *Monitor) NotifyOnResolve() bool { return m.Notify.OnResolve == nil || *m.Notify.OnResolve }

// Silenced reports whether notifications are muted or in maintenance at t, and why.
func (m *Monitor) Silenced(t time.Time) (bool, string) {
	if m.Notify.MutedUntil != nil && t.Before(*m.Notify.MutedUntil) {
		return true, "muted until " + m.Notify.MutedUntil.UTC().Format(time.RFC3339)
	}
	for _, w := range m.Notify.Maintenance {
		if w.Contains(t) {
			return true, "maintenance window"
		}
	}
	return false, ""
}

var (
	idRe    = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
	emailRe = regexp.MustCompile(`^[^@\s<>]+@[^@\s<>]+$`)
)

// Limits on what one definition may hold.
const (
	maxQueryLen    = 16 << 10
	maxTemplateLen = 16 << 10
	maxRecipients  = 50
)

// Normalize fills defaults and checks the definition. parse validates the
// query (PromQL or LogsQL) and may be nil.
func (m *Monitor) Normalize(parse func(kind, query string) error) error {
	var errs []error
	bad := func(f string, a ...any) { errs = append(errs, fmt.Errorf(f, a...)) }
	for _, s := range []string{m.ID, m.Name, m.Description, m.Query, m.Notify.Subject, m.Notify.Body} {
		if !utf8.ValidString(s) {
			return errors.New("monitor contains invalid UTF-8")
		}
	}
	m.Name = strings.TrimSpace(m.Name)
	if m.Name == "" {
		bad("name is required")
	}
	if len(m.Name) > 200 {
		bad("name is longer than 200 bytes")
	}
	if m.ID == "" {
		m.ID = slug(m.Name)
	}
	if !idRe.MatchString(m.ID) {
		bad("id %q must be lower-case letters, digits, '.', '_' or '-' (at most 63)", m.ID)
	}
	if m.Kind == "" {
		m.Kind = KindThreshold
	}
	if m.Op == "" {
		m.Op = "above"
	}
	if m.Op != "above" && m.Op != "below" {
		bad("op must be above or below, not %q", m.Op)
	}
	if m.Kind == KindEvent {
		if m.Events == nil {
			bad("an event monitor needs an events filter (e.g. reasons: [OOMKilled])")
		} else if m.Query == "" {
			m.Query = m.Events.describe()
		}
		if m.Warning == nil && m.Critical == nil {
			zero := 0.0
			m.Critical = &zero // any matching event
		}
	}
	if strings.TrimSpace(m.Query) == "" {
		bad("query is required")
	}
	if len(m.Query) > maxQueryLen {
		bad("query is longer than %d bytes", maxQueryLen)
	}
	if m.Interval == 0 {
		m.Interval = Duration(time.Minute)
	}
	if m.Interval.D() < time.Second || m.Interval.D() > 24*time.Hour {
		bad("interval must be between 1s and 24h")
	}
	if m.For < 0 || m.ResolveFor < 0 || m.Notify.Renotify < 0 {
		bad("durations must not be negative")
	}
	switch m.NoData {
	case "":
		m.NoData = "ok"
	case "ok", "alert", "keep":
	default:
		bad("no_data must be ok, alert or keep")
	}
	switch m.Kind {
	case KindThreshold, KindLog, KindEvent:
		if m.Warning == nil && m.Critical == nil {
			bad("a %s monitor needs a warning or critical threshold", m.Kind)
		}
		if m.Kind == KindLog || m.Kind == KindEvent {
			if m.Window == 0 {
				m.Window = Duration(5 * time.Minute)
			}
			if m.Window.D() < time.Second || m.Window.D() > 7*24*time.Hour {
				bad("window must be between 1s and 7d")
			}
		}
	case KindAnomaly:
		if _, err := m.Sensitivity.Width(); err != nil {
			bad("%v", err)
		}
		if m.Sensitivity == "" {
			m.Sensitivity = anomaly.Medium
		}
		if m.For == 0 {
			// The measured false-alarm rate assumes 10 minutes outside the band.
			m.For = Duration(10 * time.Minute)
		}
		if m.Training == 0 {
			m.Training = Duration(14 * 24 * time.Hour)
		}
		if m.Training.D() < 24*time.Hour || m.Training.D() > 60*24*time.Hour {
			bad("training must be between 1d and 60d")
		}
	case KindForecast:
		if m.Warning == nil && m.Critical == nil {
			bad("a forecast monitor needs the warning or critical threshold it must not cross")
		}
		if m.Horizon == 0 {
			m.Horizon = Duration(7 * 24 * time.Hour)
		}
		if m.Training == 0 {
			m.Training = Duration(7 * 24 * time.Hour)
		}
		if m.Horizon.D() <= 0 || m.Horizon.D() > 365*24*time.Hour {
			bad("horizon must be between 0 and 365d")
		}
	default:
		bad("kind must be threshold, anomaly, forecast, log or event, not %q", m.Kind)
	}
	if len(m.Notify.Email)+len(m.Notify.Webhook)+len(m.Notify.Slack) > maxRecipients {
		bad("at most %d recipients", maxRecipients)
	}
	for _, e := range m.Notify.Email {
		if !emailRe.MatchString(e) {
			bad("bad e-mail address %q", e)
		}
	}
	for _, u := range append(append([]string{}, m.Notify.Webhook...), m.Notify.Slack...) {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			bad("webhook URL %q must be http(s)", u)
		}
	}
	if len(m.Notify.Subject) > maxTemplateLen || len(m.Notify.Body) > maxTemplateLen {
		bad("templates are limited to %d bytes", maxTemplateLen)
	}
	if err := checkTemplates(m.Notify); err != nil {
		bad("%v", err)
	}
	for _, w := range m.Notify.Maintenance {
		if !w.End.After(w.Start) || (w.Repeat != "" && w.Repeat != "daily" && w.Repeat != "weekly") {
			bad("maintenance window needs end after start and repeat empty, daily or weekly")
		}
	}
	if len(errs) == 0 && parse != nil {
		if err := parse(m.Kind, m.Query); err != nil {
			bad("query: %v", err)
		}
	}
	return errors.Join(errs...)
}

func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 60 {
			break
		}
	}
	return strings.Trim(b.String(), "-")
}

func (f *EventFilter) describe() string {
	var parts []string
	add := func(k string, v []string) {
		if len(v) > 0 {
			parts = append(parts, k+"="+strings.Join(v, "|"))
		}
	}
	add("type", f.Types)
	add("source", f.Sources)
	add("reason", f.Reasons)
	add("namespace", f.Namespaces)
	add("kind", f.Kinds)
	if f.Name != "" {
		parts = append(parts, "name="+f.Name)
	}
	if f.Text != "" {
		parts = append(parts, fmt.Sprintf("text=%q", f.Text))
	}
	if len(parts) == 0 {
		return "events: all"
	}
	return "events: " + strings.Join(parts, " ")
}
