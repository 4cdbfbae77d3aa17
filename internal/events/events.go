// Package events keeps one stream of what happened in the cluster and in
// vigil: Kubernetes events, object changes (created, scaled, deleted) and
// vigil's own events (monitors, drift, security, user markers). Events live in
// a log store of their own (not the container logs), so they are searched with
// the same engine but never mixed into the log explorer.
package events

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"vigil/internal/store/logs"
)

// Event is one entry of the stream.
type Event struct {
	Time time.Time `json:"time"`
	// Type is Normal or Warning, as Kubernetes events have.
	Type string `json:"type"`
	// Source says who reported it: "kubernetes", "vigil/changes", "vigil/monitor",
	// "vigil/drift", "vigil/security", "user".
	Source  string `json:"source"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
	// The object involved.
	Namespace string `json:"namespace,omitempty"`
	Kind      string `json:"kind,omitempty"`
	Name      string `json:"name,omitempty"`
	// Node is the node that reported it or that it concerns, when known.
	Node string `json:"node,omitempty"`
	// Count is how many times Kubernetes saw it (≥1).
	Count int `json:"count,omitempty"`
	// Marker events are drawn as vertical lines on charts (deployments, "deploying v2.3").
	Marker bool              `json:"marker,omitempty"`
	Tags   map[string]string `json:"tags,omitempty"`
}

// Types an event may have.
const (
	Normal  = "Normal"
	Warning = "Warning"
)

const maxText = 8 << 10 // longer messages are cut: events are summaries

// Validate checks an event posted from outside.
func (e *Event) Validate() error {
	if strings.TrimSpace(e.Message) == "" {
		return errors.New("message is required")
	}
	if e.Type == "" {
		e.Type = Normal
	}
	if e.Type != Normal && e.Type != Warning {
		return fmt.Errorf("type must be %s or %s, got %q", Normal, Warning, e.Type)
	}
	if len(e.Message) > maxText {
		return fmt.Errorf("message is %d bytes, at most %d", len(e.Message), maxText)
	}
	if len(e.Tags) > 32 {
		return fmt.Errorf("%d tags, at most 32", len(e.Tags))
	}
	for k, v := range e.Tags {
		if k == "" || len(k) > 128 || len(v) > 1024 || strings.ContainsAny(k, " \t\n\"'") {
			return fmt.Errorf("bad tag %q", k)
		}
	}
	return nil
}

// Store records and searches events.
type Store struct {
	logs logs.Store
	now  func() time.Time
}

// New keeps events in st, which should be a log store used only for events.
func New(st logs.Store) *Store { return &Store{logs: st, now: time.Now} }

// Close closes the underlying store.
func (s *Store) Close() error { return s.logs.Close() }

// Record stores events.
func (s *Store) Record(ctx context.Context, evs ...Event) error {
	recs := make([]logs.Record, 0, len(evs))
	for _, e := range evs {
		if e.Time.IsZero() {
			e.Time = s.now()
		}
		if e.Type == "" {
			e.Type = Normal
		}
		msg := e.Message
		if len(msg) > maxText {
			msg = msg[:maxText]
		}
		f := []logs.Field{
			{Name: "namespace", Value: e.Namespace},
			{Name: "_msg", Value: msg},
			{Name: "type", Value: e.Type},
			{Name: "source", Value: e.Source},
			{Name: "reason", Value: e.Reason},
			{Name: "kind", Value: e.Kind},
			{Name: "name", Value: e.Name},
			{Name: "node", Value: e.Node},
		}
		if e.Count > 1 {
			f = append(f, logs.Field{Name: "count", Value: strconv.Itoa(e.Count)})
		}
		if e.Marker {
			f = append(f, logs.Field{Name: "marker", Value: "true"})
		}
		for _, k := range slices.Sorted(maps.Keys(e.Tags)) {
			f = append(f, logs.Field{Name: "tag." + k, Value: e.Tags[k]})
		}
		recs = append(recs, logs.Record{Time: e.Time, Fields: f})
	}
	if err := s.logs.Write(ctx, recs); err != nil {
		return fmt.Errorf("record events: %w", err)
	}
	return nil
}

// Filter selects events. Empty fields match everything.
type Filter struct {
	Types      []string
	Sources    []string
	Reasons    []string
	Namespaces []string
	Kinds      []string
	Name       string
	Node       string
	Text       string // words or a phrase anywhere in the message
	MarkerOnly bool
	Start, End time.Time
	Limit      int
}

// Query turns the filter into LogsQL.
func (f Filter) Query() string {
	var parts []string
	in := func(field string, vals []string) {
		var vs []string
		for _, v := range vals {
			if v != "" {
				vs = append(vs, quote(v))
			}
		}
		switch len(vs) {
		case 0:
		case 1:
			parts = append(parts, field+":="+vs[0])
		default:
			parts = append(parts, field+":in("+strings.Join(vs, ",")+")")
		}
	}
	in("type", f.Types)
	in("source", f.Sources)
	in("reason", f.Reasons)
	in("namespace", f.Namespaces)
	in("kind", f.Kinds)
	in("name", []string{f.Name})
	in("node", []string{f.Node})
	if f.MarkerOnly {
		parts = append(parts, `marker:="true"`)
	}
	for _, w := range strings.Fields(f.Text) {
		// Each word must appear in the message or any field, case-insensitively.
		parts = append(parts, "i("+quote(w)+")")
	}
	if len(parts) == 0 {
		return "*"
	}
	return strings.Join(parts, " ")
}

// quote makes a LogsQL quoted string; its escapes are Go's.
func quote(s string) string { return strconv.Quote(s) }

// Find returns matching events, newest first (at most f.Limit, default 500).
func (s *Store) Find(ctx context.Context, f Filter) ([]Event, error) {
	limit := f.Limit
	if limit <= 0 || limit > 10000 {
		limit = 500
	}
	var out []Event
	err := s.logs.Query(ctx, f.Query(), logs.Range{Start: f.Start, End: f.End}, limit, func(row []logs.Field) error {
		out = append(out, fromRow(row))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find events: %w", err)
	}
	return out, nil
}

func fromRow(row []logs.Field) Event {
	var e Event
	for _, fl := range row {
		switch fl.Name {
		case "_time":
			e.Time, _ = time.Parse(time.RFC3339Nano, fl.Value)
		case "_msg":
			e.Message = fl.Value
		case "type":
			e.Type = fl.Value
		case "source":
			e.Source = fl.Value
		case "reason":
			e.Reason = fl.Value
		case "namespace":
			e.Namespace = fl.Value
		case "kind":
			e.Kind = fl.Value
		case "name":
			e.Name = fl.Value
		case "node":
			e.Node = fl.Value
		case "count":
			e.Count, _ = strconv.Atoi(fl.Value)
		case "marker":
			e.Marker = fl.Value == "true"
		default:
			if k, ok := strings.CutPrefix(fl.Name, "tag."); ok {
				if e.Tags == nil {
					e.Tags = map[string]string{}
				}
				e.Tags[k] = fl.Value
			}
		}
	}
	return e
}

// Facet is a value of a field with how many events carry it.
type Facet = logs.ValueWithHits

// Facets counts the values of the filterable fields over the events matching f.
func (s *Store) Facets(ctx context.Context, f Filter) (map[string][]Facet, error) {
	out := map[string][]Facet{}
	r := logs.Range{Start: f.Start, End: f.End}
	for _, field := range []string{"type", "source", "reason", "namespace", "kind"} {
		vals, err := s.logs.FieldValues(ctx, f.Query(), r, field, 50)
		if err != nil {
			return nil, fmt.Errorf("event facet %s: %w", field, err)
		}
		out[field] = vals
	}
	return out, nil
}

// Histogram counts matching events per step, split by type.
func (s *Store) Histogram(ctx context.Context, f Filter, step time.Duration) ([]logs.HitsSeries, error) {
	h, err := s.logs.Hits(ctx, f.Query(), logs.Range{Start: f.Start, End: f.End}, step, []string{"type"}, 5)
	if err != nil {
		return nil, fmt.Errorf("event histogram: %w", err)
	}
	return h, nil
}
