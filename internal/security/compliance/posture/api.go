package posture

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"vigil/internal/httpjson"
	"vigil/internal/security/compliance"
)

// Register mounts the API: user for people and API tokens, agent for node reports.
func (s *Service) Register(mux *http.ServeMux, user, agent func(http.Handler) http.Handler) {
	mux.Handle("GET /api/compliance/summary", user(http.HandlerFunc(s.summary)))
	mux.Handle("GET /api/compliance/controls", user(http.HandlerFunc(s.controls)))
	mux.Handle("GET /api/compliance/findings", user(http.HandlerFunc(s.findings)))
	mux.Handle("GET /api/compliance/workloads", user(http.HandlerFunc(s.workloads)))
	mux.Handle("POST /api/compliance/scan", user(http.HandlerFunc(s.scan)))
	mux.Handle("GET /api/compliance/exceptions", user(http.HandlerFunc(s.listExceptions)))
	mux.Handle("POST /api/compliance/exceptions", user(http.HandlerFunc(s.addException)))
	mux.Handle("DELETE /api/compliance/exceptions/{id}", user(http.HandlerFunc(s.deleteException)))
	mux.Handle("POST /api/compliance/nodes", agent(http.HandlerFunc(s.nodeReport)))
}

// ControlStatus is a control with its outcome in the last run.
type ControlStatus struct {
	compliance.Control
	compliance.Tally
}

type summary struct {
	Time       *time.Time                  `json:"time"`
	DurationMs float64                     `json:"durationMs"`
	Frameworks []compliance.Framework      `json:"frameworks"`
	Scores     []compliance.FrameworkScore `json:"scores"`
	Failed     map[string]int              `json:"failedBySeverity"`
	Objects    int                         `json:"objects"`
	Namespaces []string                    `json:"namespaces"`
	Controls   []ControlStatus             `json:"controls"`
	Cluster    bool                        `json:"cluster"`
}

func (s *Service) summary(w http.ResponseWriter, _ *http.Request) {
	out := summary{Frameworks: compliance.Frameworks, Scores: []compliance.FrameworkScore{}, Controls: []ControlStatus{}, Namespaces: []string{},
		Failed: map[string]int{compliance.Critical: 0, compliance.High: 0, compliance.Medium: 0, compliance.Low: 0}, Cluster: s.inf != nil}
	run := s.Latest()
	if run != nil {
		t := run.Time
		out.Time, out.DurationMs, out.Scores = &t, float64(run.Duration.Microseconds())/1000, run.Scores
		out.Objects = len(run.Result.Objects)
		for _, f := range run.Result.Findings {
			if f.Status == "fail" && f.Exception == nil {
				out.Failed[f.Severity]++
			}
		}
		for _, o := range run.Result.Objects {
			if o.Namespace != "" && !slices.Contains(out.Namespaces, o.Namespace) {
				out.Namespaces = append(out.Namespaces, o.Namespace)
			}
		}
		slices.Sort(out.Namespaces)
	}
	out.Controls = s.controlStatus(run)
	httpjson.Write(w, http.StatusOK, out)
}

func (s *Service) controlStatus(run *Run) []ControlStatus {
	var out []ControlStatus
	for _, c := range s.Engine.Controls() {
		cs := ControlStatus{Control: c}
		if run != nil {
			if t := run.Result.Controls[c.ID]; t != nil {
				cs.Tally = *t
			}
		}
		out = append(out, cs)
	}
	return out
}

func (s *Service) controls(w http.ResponseWriter, _ *http.Request) {
	httpjson.Write(w, http.StatusOK, s.controlStatus(s.Latest()))
}

// findings filters the last run's findings: severity (minimum), namespace,
// control, framework, kind, status (fail, unknown, excepted), limit.
func (s *Service) findings(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	minSev := 0
	if v := q.Get("severity"); v != "" {
		if minSev = compliance.SeverityRank(v); minSev == 0 {
			httpjson.Error(w, http.StatusBadRequest, fmt.Errorf("unknown severity %q (low, medium, high, critical)", v))
			return
		}
	}
	var ctl map[string]bool
	if fw, ids := q.Get("framework"), q.Get("control"); fw != "" || ids != "" {
		var fws, cids []string
		if fw != "" {
			fws = strings.Split(fw, ",")
		}
		if ids != "" {
			cids = strings.Split(ids, ",")
		}
		var err error
		if ctl, err = s.Engine.Select(fws, cids); err != nil {
			httpjson.Error(w, http.StatusBadRequest, err)
			return
		}
	}
	status := q.Get("status")
	if status != "" && status != "fail" && status != "unknown" && status != "excepted" {
		httpjson.Error(w, http.StatusBadRequest, fmt.Errorf("unknown status %q (fail, unknown, excepted)", status))
		return
	}
	limit := 5000
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			httpjson.Error(w, http.StatusBadRequest, fmt.Errorf("bad limit %q", v))
			return
		}
		limit = min(n, limit)
	}
	out := []compliance.Finding{}
	total := 0
	if run := s.Latest(); run != nil {
		for _, f := range run.Result.Findings {
			st := f.Status
			if f.Exception != nil {
				st = "excepted"
			}
			switch {
			case compliance.SeverityRank(f.Severity) < minSev,
				q.Get("namespace") != "" && f.Namespace != q.Get("namespace"),
				q.Get("kind") != "" && f.Kind != q.Get("kind"),
				ctl != nil && !ctl[f.ControlID],
				status != "" && st != status:
				continue
			}
			total++
			if len(out) < limit {
				out = append(out, f)
			}
		}
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"total": total, "findings": out})
}

// Workload is the per-workload view other areas (the risk map) consume.
type Workload struct {
	Namespace string         `json:"namespace"`
	Kind      string         `json:"kind"`
	Name      string         `json:"name"`
	Failed    map[string]int `json:"failed"`
	Passed    int            `json:"passed"`
}

func (s *Service) workloads(w http.ResponseWriter, _ *http.Request) {
	out := []Workload{}
	if run := s.Latest(); run != nil {
		for _, o := range run.Result.Objects {
			if o.Target != compliance.TargetWorkload {
				continue
			}
			wl := Workload{Namespace: o.Namespace, Kind: o.Kind, Name: o.Name, Passed: o.Passed,
				Failed: map[string]int{compliance.Critical: 0, compliance.High: 0, compliance.Medium: 0, compliance.Low: 0}}
			for k, v := range o.Failed {
				wl.Failed[k] = v
			}
			out = append(out, wl)
		}
	}
	httpjson.Write(w, http.StatusOK, out)
}

func (s *Service) scan(w http.ResponseWriter, r *http.Request) {
	run, err := s.Evaluate(r.Context())
	if err != nil {
		httpjson.Error(w, http.StatusServiceUnavailable, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"id": run.ID, "time": run.Time, "durationMs": float64(run.Duration.Microseconds()) / 1000,
		"scores": run.Scores, "findings": len(run.Result.Findings)})
}

func (s *Service) listExceptions(w http.ResponseWriter, r *http.Request) {
	xs, err := s.Exceptions(r.Context())
	if err != nil {
		httpjson.Error(w, http.StatusInternalServerError, err)
		return
	}
	if xs == nil {
		xs = []compliance.Exception{}
	}
	httpjson.Write(w, http.StatusOK, xs)
}

func (s *Service) addException(w http.ResponseWriter, r *http.Request) {
	var x compliance.Exception
	if err := httpjson.Decode(r, &x); err != nil {
		httpjson.Error(w, http.StatusBadRequest, err)
		return
	}
	x.ID = 0
	x, err := s.AddException(r.Context(), x)
	if err != nil {
		httpjson.Error(w, http.StatusBadRequest, err)
		return
	}
	s.Trigger()
	httpjson.Write(w, http.StatusCreated, x)
}

func (s *Service) deleteException(w http.ResponseWriter, r *http.Request) {
	if httpjson.DeleteByID(w, r, "exception", s.DeleteException) {
		s.Trigger()
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Service) nodeReport(w http.ResponseWriter, r *http.Request) {
	var n compliance.NodeInput
	if err := httpjson.Decode(r, &n); err != nil {
		httpjson.Error(w, http.StatusBadRequest, err)
		return
	}
	if len(n.Node) > 253 || len(n.Files) > 64 {
		httpjson.Error(w, http.StatusBadRequest, errors.New("node report too large"))
		return
	}
	if err := s.StoreNode(r.Context(), n); err != nil {
		httpjson.Error(w, http.StatusBadRequest, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
