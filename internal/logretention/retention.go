// Package logretention enforces per-namespace log retention: the log store
// drops whole days after its global retention, and this deletes, for each
// namespace rule, the rows older than the rule's shorter retention.
package logretention

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"vigil/internal/ingest"
)

// Deleter is the part of the log store this needs.
type Deleter interface {
	DeleteBefore(ctx context.Context, filter string, before time.Time) error
	PendingDeletes(ctx context.Context) int
}

// Rule is one namespace pattern with its retention.
type Rule struct {
	Namespace string        `json:"namespace"`
	Retention time.Duration `json:"-"`
	Text      string        `json:"retention"`
	Seconds   int64         `json:"seconds"`
	// Capped is set when the rule asks for longer than the store keeps
	// anything; the global retention applies instead.
	Capped bool `json:"capped,omitempty"`
}

// Status is what the last enforcement did.
type Status struct {
	Default        string    `json:"default"`
	DefaultSeconds int64     `json:"defaultSeconds"`
	Rules          []Rule    `json:"rules"`
	LastRun        time.Time `json:"lastRun,omitzero"`
	LastError      string    `json:"lastError,omitempty"`
	Started        int       `json:"started"` // deletions started by the last run
	Pending        int       `json:"pending"` // deletions the store has not finished
}

// Enforcer starts deletions every Every.
type Enforcer struct {
	Rules  func() map[string]string // namespace glob → retention, e.g. the pipeline's rules
	Store  Deleter
	Global time.Duration // the store's own retention
	Every  time.Duration
	Log    *slog.Logger

	mu     sync.Mutex
	status Status
}

// Run enforces the rules now and then every Every until ctx ends.
func (e *Enforcer) Run(ctx context.Context) {
	every := e.Every
	if every <= 0 {
		every = time.Hour
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := e.Once(ctx, time.Now()); err != nil && ctx.Err() == nil && e.Log != nil {
			e.Log.Warn("log retention", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Once starts one deletion per rule, unless deletions from an earlier run
// are still pending (a slow store must not pile them up).
func (e *Enforcer) Once(ctx context.Context, now time.Time) error {
	rules, err := Parse(e.Rules(), e.Global)
	st := Status{Default: FormatDuration(e.Global), DefaultSeconds: int64(e.Global / time.Second), Rules: rules, LastRun: now}
	defer func() {
		st.Pending = e.Store.PendingDeletes(ctx)
		if err != nil {
			st.LastError = err.Error()
		}
		e.mu.Lock()
		e.status = st
		e.mu.Unlock()
	}()
	if err != nil {
		return err
	}
	if e.Store.PendingDeletes(ctx) > 0 {
		return nil
	}
	for _, r := range rules {
		if r.Capped {
			continue
		}
		if err = e.Store.DeleteBefore(ctx, Filter(r.Namespace), now.Add(-r.Retention)); err != nil {
			return fmt.Errorf("namespace %s: %w", r.Namespace, err)
		}
		st.Started++
		if e.Log != nil {
			e.Log.Info("log retention: deleting old logs", "namespace", r.Namespace, "older_than", now.Add(-r.Retention).Format(time.RFC3339))
		}
	}
	return nil
}

// Status returns what the last run did.
func (e *Enforcer) Status(ctx context.Context) Status {
	e.mu.Lock()
	st := e.status
	e.mu.Unlock()
	// The rules as they are now (saved since the last run or not).
	st.Default, st.DefaultSeconds = FormatDuration(e.Global), int64(e.Global/time.Second)
	if rules, err := Parse(e.Rules(), e.Global); err == nil {
		st.Rules = rules
	}
	st.Pending = e.Store.PendingDeletes(ctx)
	return st
}

// Parse turns rules into a sorted list, marking those the global retention caps.
func Parse(m map[string]string, global time.Duration) ([]Rule, error) {
	out := make([]Rule, 0, len(m))
	for ns, v := range m {
		d, err := ingest.ParseRetention(v)
		if err != nil {
			return nil, fmt.Errorf("namespace %s: %w", ns, err)
		}
		out = append(out, Rule{Namespace: ns, Retention: d, Text: v, Seconds: int64(d / time.Second), Capped: global > 0 && d >= global})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Namespace < out[j].Namespace })
	return out, nil
}

// Filter is the LogsQL filter for a namespace glob: exact for a plain name,
// an anchored regular expression for * and ? patterns.
func Filter(glob string) string {
	if !strings.ContainsAny(glob, "*?") {
		return "namespace:=" + strconv.Quote(glob)
	}
	var b strings.Builder
	b.WriteString("^")
	for _, r := range glob {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return "namespace:~" + strconv.Quote(b.String())
}

// FormatDuration writes whole days as "7d", anything else as a Go duration.
func FormatDuration(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}
