package server

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"vigil/internal/auth"
	"vigil/internal/events"
	"vigil/internal/store/logs"
)

// eventFilter reads the events page's filters from the query string: type,
// source, reason, namespace, kind (each repeatable or comma-separated), name,
// node, q (free text), marker=true, start/end (RFC 3339 or Unix seconds) or
// range (a duration back from now), limit.
func eventFilter(q url.Values) (events.Filter, error) {
	multi := func(k string) []string {
		var out []string
		for _, v := range q[k] {
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					out = append(out, p)
				}
			}
		}
		return out
	}
	f := events.Filter{Types: multi("type"), Sources: multi("source"), Reasons: multi("reason"),
		Namespaces: multi("namespace"), Kinds: multi("kind"), Name: q.Get("name"), Node: q.Get("node"),
		Text: q.Get("q"), MarkerOnly: q.Get("marker") == "true"}
	var err error
	if f.Start, err = parseTime(q.Get("start")); err != nil {
		return f, err
	}
	if f.End, err = parseTime(q.Get("end")); err != nil {
		return f, err
	}
	if v := q.Get("range"); v != "" && f.Start.IsZero() {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return f, errors.New("bad range: want a duration such as 1h")
		}
		f.Start = time.Now().Add(-d)
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 {
			return f, errors.New("bad limit")
		}
	}
	return f, nil
}

func parseTime(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if sec, err := strconv.ParseFloat(v, 64); err == nil {
		return time.UnixMilli(int64(sec * 1000)), nil
	}
	return time.Time{}, errors.New("bad time " + strconv.Quote(v) + ": want RFC 3339 or Unix seconds")
}

func (s *Server) eventsErr(w http.ResponseWriter, err error) {
	var bq logs.BadQueryError
	if errors.As(err, &bq) {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.log.Error("events", "err", err)
	http.Error(w, err.Error(), http.StatusInternalServerError)
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	f, err := eventFilter(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	evs, err := s.Events.Find(r.Context(), f)
	if err != nil {
		s.eventsErr(w, err)
		return
	}
	if evs == nil {
		evs = []events.Event{}
	}
	writeJSON(w, http.StatusOK, evs)
}

func (s *Server) eventFacets(w http.ResponseWriter, r *http.Request) {
	f, err := eventFilter(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	out, err := s.Events.Facets(r.Context(), f)
	if err != nil {
		s.eventsErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) eventHistogram(w http.ResponseWriter, r *http.Request) {
	f, err := eventFilter(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if f.Start.IsZero() {
		f.Start = time.Now().Add(-time.Hour)
	}
	end := f.End
	if end.IsZero() {
		end = time.Now()
	}
	step := end.Sub(f.Start) / 60
	if step < time.Second {
		step = time.Second
	}
	h, err := s.Events.Histogram(r.Context(), f, step)
	if err != nil {
		s.eventsErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"step": step.Seconds(), "series": h})
}

// postEvent lets users and the API add status updates and chart markers.
func (s *Server) postEvent(w http.ResponseWriter, r *http.Request) {
	var e events.Event
	if !readJSON(w, r, &e) {
		return
	}
	if err := e.Validate(); err != nil {
		http.Error(w, "bad event: "+err.Error(), http.StatusBadRequest)
		return
	}
	if e.Time.IsZero() || e.Time.After(time.Now().Add(time.Minute)) {
		e.Time = time.Now()
	}
	if e.Source == "" || !strings.HasPrefix(e.Source, "user") {
		e.Source = "user"
	}
	if p, ok := auth.FromContext(r.Context()); ok && p.User != "" {
		if e.Tags == nil {
			e.Tags = map[string]string{}
		}
		e.Tags["user"] = p.User
	}
	if err := s.Events.Record(r.Context(), e); err != nil {
		s.eventsErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, e)
}
