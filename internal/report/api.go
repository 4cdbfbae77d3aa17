package report

import (
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strings"

	"vigil/internal/httpjson"
)

// Register mounts the report API under /api/compliance/.
func (s *Service) Register(mux *http.ServeMux, user func(http.Handler) http.Handler) {
	mux.Handle("GET /api/compliance/reports", user(http.HandlerFunc(s.list)))
	mux.Handle("POST /api/compliance/reports", user(http.HandlerFunc(s.generate)))
	mux.Handle("GET /api/compliance/reports/{id}/{file}", user(http.HandlerFunc(s.download)))
	mux.Handle("GET /api/compliance/report-schedules", user(http.HandlerFunc(s.listSchedules)))
	mux.Handle("POST /api/compliance/report-schedules", user(http.HandlerFunc(s.addSchedule)))
	mux.Handle("DELETE /api/compliance/report-schedules/{id}", user(http.HandlerFunc(s.deleteSchedule)))
	mux.Handle("POST /api/compliance/report-schedules/{id}/run", user(http.HandlerFunc(s.runSchedule)))
}

func (s *Service) list(w http.ResponseWriter, r *http.Request) {
	rs, err := s.Reports(r.Context(), 100)
	if err != nil {
		httpjson.Error(w, http.StatusInternalServerError, err)
		return
	}
	httpjson.Write(w, http.StatusOK, rs)
}

// generate makes an on-demand report (both sections unless kind says
// otherwise); recipients (optional) get it by mail.
func (s *Service) generate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Title      string   `json:"title"`
		Kind       string   `json:"kind"`
		Recipients []string `json:"recipients"`
	}
	if r.ContentLength != 0 {
		if err := httpjson.Decode(r, &req); err != nil {
			httpjson.Error(w, http.StatusBadRequest, err)
			return
		}
	}
	kind, err := checkKind(req.Kind)
	if err != nil {
		httpjson.Error(w, http.StatusBadRequest, err)
		return
	}
	if req.Title == "" {
		req.Title = map[string]string{KindCompliance: "Compliance report", KindVulns: "Vulnerability report", KindBoth: "Security report"}[kind]
	}
	if len(req.Title) > 200 || len(req.Recipients) > 50 {
		httpjson.Error(w, http.StatusBadRequest, errors.New("title at most 200 characters, at most 50 recipients"))
		return
	}
	for _, a := range req.Recipients {
		if _, err := mail.ParseAddress(a); err != nil {
			httpjson.Error(w, http.StatusBadRequest, fmt.Errorf("recipient %q is not an e-mail address", a))
			return
		}
	}
	st, err := s.Generate(r.Context(), 0, kind, req.Title, req.Recipients)
	if err != nil {
		httpjson.Error(w, http.StatusServiceUnavailable, err)
		return
	}
	httpjson.Write(w, http.StatusCreated, st)
}

func (s *Service) download(w http.ResponseWriter, r *http.Request) {
	id, ok := httpjson.PathID(w, r, "bad report id")
	if !ok {
		return
	}
	// report.html, report.csv, report.json, vulnerabilities.csv
	name := r.PathValue("file")
	format, ok := strings.CutPrefix(name, "report.")
	if name == "vulnerabilities.csv" {
		format, ok = "vulns-csv", true
	}
	if !ok {
		httpjson.Error(w, http.StatusNotFound, fmt.Errorf("unknown file %q (report.html, report.csv, report.json, vulnerabilities.csv)", name))
		return
	}
	b, kind, t, err := s.File(r.Context(), id, format)
	if errors.Is(err, ErrNotFound) {
		msg := "no such report"
		if format == "vulns-csv" {
			msg = "no such report, or it has no vulnerability section"
		}
		httpjson.Error(w, http.StatusNotFound, errors.New(msg))
		return
	}
	if err != nil {
		httpjson.Error(w, http.StatusNotFound, err)
		return
	}
	ext := format
	prefix := filePrefix(kind)
	if format == "vulns-csv" {
		ext, prefix = "csv", "vulnerabilities"
	}
	ct := map[string]string{"html": "text/html; charset=utf-8", "csv": "text/csv; charset=utf-8", "json": "application/json"}[ext]
	w.Header().Set("Content-Type", ct)
	disp := "attachment"
	if format == "html" && r.URL.Query().Get("download") == "" {
		disp = "inline"
		// The report is static HTML: no scripts, no remote content.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`%s; filename="%s-%s-%d.%s"`, disp, prefix, t.Format("2006-01-02"), id, ext))
	_, _ = w.Write(b)
}

func (s *Service) listSchedules(w http.ResponseWriter, r *http.Request) {
	scs, err := s.Schedules(r.Context())
	if err != nil {
		httpjson.Error(w, http.StatusInternalServerError, err)
		return
	}
	httpjson.Write(w, http.StatusOK, scs)
}

func (s *Service) addSchedule(w http.ResponseWriter, r *http.Request) {
	var sc Schedule
	if err := httpjson.Decode(r, &sc); err != nil {
		httpjson.Error(w, http.StatusBadRequest, err)
		return
	}
	sc, err := s.AddSchedule(r.Context(), sc)
	if err != nil {
		httpjson.Error(w, http.StatusBadRequest, err)
		return
	}
	httpjson.Write(w, http.StatusCreated, sc)
}

func (s *Service) deleteSchedule(w http.ResponseWriter, r *http.Request) {
	if httpjson.DeleteByID(w, r, "schedule", s.DeleteSchedule) {
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Service) runSchedule(w http.ResponseWriter, r *http.Request) {
	id, ok := httpjson.PathID(w, r, "bad id")
	if !ok {
		return
	}
	st, err := s.RunSchedule(r.Context(), id)
	if errors.Is(err, ErrNotFound) {
		httpjson.Error(w, http.StatusNotFound, errors.New("no such schedule"))
		return
	}
	if err != nil {
		httpjson.Error(w, http.StatusServiceUnavailable, err)
		return
	}
	httpjson.Write(w, http.StatusCreated, st)
}
