package deploy

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	release "helm.sh/helm/v4/pkg/release/v1"

	"vigil/internal/events"
	"vigil/internal/httpjson"
	"vigil/internal/store/sqlutil"
)

// EventRecorder records vigil events (events.Store does).
type EventRecorder interface {
	Record(ctx context.Context, evs ...events.Event) error
}

// ServiceConfig wires the server's automation service.
type ServiceConfig struct {
	DB     *sql.DB
	Logs   LogQuerier
	Events EventRecorder // optional
	// HasCluster says whether the server has a cluster; Kubeconfig is its file
	// (empty: in-cluster).
	HasCluster bool
	Kubeconfig string
	// Namespaces to look for Helm releases in; empty: the pod's own namespace
	// in a cluster, else every namespace.
	Namespaces []string
	// Interval between drift checks (default 1 minute).
	Interval time.Duration
	Log      *slog.Logger
}

// Service runs drift checks in the server and serves /api/automation.
type Service struct {
	cfg ServiceConfig

	mu     sync.Mutex // one check at a time
	cmu    sync.Mutex // guards client
	client *Client
}

// NewService prepares the service and its tables.
func NewService(ctx context.Context, cfg ServiceConfig) (*Service, error) {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if len(cfg.Namespaces) == 0 && cfg.HasCluster && cfg.Kubeconfig == "" {
		if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil {
			cfg.Namespaces = []string{strings.TrimSpace(string(b))}
		}
	}
	s := &Service{cfg: cfg}
	if cfg.DB != nil {
		if _, err := cfg.DB.ExecContext(ctx, `
CREATE TABLE IF NOT EXISTS automation_drift (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	checked_at INTEGER NOT NULL,
	source TEXT NOT NULL,
	drifted INTEGER NOT NULL,
	report TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS automation_drift_source ON automation_drift(source, id);
CREATE TABLE IF NOT EXISTS automation_seen (
	key TEXT PRIMARY KEY,
	first_seen INTEGER NOT NULL
);`); err != nil {
			return nil, fmt.Errorf("automation tables: %w", err)
		}
	}
	return s, nil
}

func (s *Service) kube() (*Client, error) {
	if !s.cfg.HasCluster {
		return nil, errNoCluster
	}
	s.cmu.Lock()
	defer s.cmu.Unlock()
	if s.client == nil {
		c, err := NewClient(Options{Kubeconfig: s.cfg.Kubeconfig, Log: s.cfg.Log})
		if err != nil {
			return nil, err
		}
		s.client = c
	}
	return s.client, nil
}

var errNoCluster = errors.New("the server has no Kubernetes cluster configured")

func (s *Service) namespaces() []string {
	if len(s.cfg.Namespaces) == 0 {
		return []string{""}
	}
	return s.cfg.Namespaces
}

// Run checks drift every Interval until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	if !s.cfg.HasCluster {
		return nil
	}
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		if _, err := s.Check(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Log.Warn("drift check", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Check runs one drift check of every deployed release, with blame from the
// audit log, stores the reports and records events for new drift and new
// deployments.
func (s *Service) Check(ctx context.Context) ([]*Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.kube()
	if err != nil {
		return nil, err
	}
	var rels []*release.Release
	for _, ns := range s.namespaces() {
		rs, err := c.Releases(ns)
		if err != nil {
			return nil, err
		}
		rels = append(rels, rs...)
	}
	live, err := NewLive(c.rest, "default")
	if err != nil {
		return nil, err
	}
	var reports []*Report
	for _, rel := range rels {
		if rel.Info == nil || rel.Info.Status != "deployed" {
			continue
		}
		s.recordDeployments(ctx, c, rel)
		r, err := ReleaseDrift(ctx, live, rel)
		if err != nil {
			s.cfg.Log.Warn("drift", "release", rel.Name, "err", err)
			continue
		}
		s.blame(ctx, r)
		s.recordDrift(ctx, r)
		if err := s.save(ctx, r); err != nil {
			return nil, err
		}
		reports = append(reports, r)
	}
	return reports, nil
}

func (s *Service) blame(ctx context.Context, r *Report) {
	if s.cfg.Logs == nil {
		return
	}
	since := r.Since
	if !since.IsZero() {
		since = since.Add(-time.Minute) // clock skew between apiserver and vigil
	}
	for i := range r.Items {
		b, err := FindBlame(ctx, s.cfg.Logs, r.Items[i], since)
		if err != nil {
			r.Errors = append(r.Errors, err.Error())
			continue
		}
		r.Items[i].Blame = b
	}
}

// firstSeen marks key as seen and says whether it was new.
func (s *Service) firstSeen(ctx context.Context, key string) bool {
	if s.cfg.DB == nil {
		return false
	}
	res, err := s.cfg.DB.ExecContext(ctx, `INSERT OR IGNORE INTO automation_seen(key, first_seen) VALUES(?, ?)`, key, time.Now().Unix())
	if err != nil {
		s.cfg.Log.Warn("automation seen", "err", err)
		return false
	}
	n, _ := res.RowsAffected()
	return n == 1
}

func (s *Service) recordDrift(ctx context.Context, r *Report) {
	if s.cfg.Events == nil {
		return
	}
	for _, it := range r.Items {
		var parts []string
		for _, c := range it.Changes {
			parts = append(parts, c.String())
		}
		key := "drift|" + r.Source + "|" + it.ObjectRef.String() + "|" + it.State + "|" + strings.Join(parts, ";")
		if !s.firstSeen(ctx, key) {
			continue
		}
		msg := fmt.Sprintf("%s drifted from %s (%s)", it.ObjectRef, r.Source, it.State)
		if len(parts) > 0 {
			msg += ": " + strings.Join(parts, "; ")
		}
		tags := map[string]string{"drift_source": r.Source}
		if b := it.Blame; b != nil {
			msg += fmt.Sprintf(" — changed by %s with %s at %s", b.User, b.Client, b.Time.Format(time.RFC3339))
			tags["user"], tags["client"] = b.User, b.Client
		}
		ev := events.Event{Type: events.Warning, Source: "vigil/drift", Reason: "DriftDetected", Message: msg,
			Namespace: it.Namespace, Kind: it.Kind, Name: it.Name, Tags: tags}
		if err := s.cfg.Events.Record(ctx, ev); err != nil {
			s.cfg.Log.Warn("record drift event", "err", err)
		}
	}
}

func (s *Service) recordDeployments(ctx context.Context, c *Client, rel *release.Release) {
	if s.cfg.Events == nil {
		return
	}
	hist, err := c.History(rel.Namespace, rel.Name)
	if err != nil {
		s.cfg.Log.Warn("release history", "err", err)
		return
	}
	for _, h := range hist {
		if h.Info == nil || h.Info.LastDeployed.IsZero() {
			continue
		}
		if !s.firstSeen(ctx, fmt.Sprintf("deploy|%s/%s|%d", h.Namespace, h.Name, h.Version)) {
			continue
		}
		ev := events.Event{Time: h.Info.LastDeployed, Type: events.Normal, Source: "vigil/deploy", Reason: "Deployed",
			Message:   fmt.Sprintf("release %s/%s revision %d: %s (%s) — %s", h.Namespace, h.Name, h.Version, chartName(h.Chart), h.Info.Status, h.Info.Description),
			Namespace: h.Namespace, Kind: "HelmRelease", Name: h.Name, Marker: true,
			Tags: map[string]string{"revision": fmt.Sprint(h.Version), "chart": chartName(h.Chart)}}
		if h.Info.Status == "failed" {
			ev.Type = events.Warning
		}
		if err := s.cfg.Events.Record(ctx, ev); err != nil {
			s.cfg.Log.Warn("record deployment event", "err", err)
		}
	}
}

const keepReports = 200

func (s *Service) save(ctx context.Context, r *Report) error {
	if s.cfg.DB == nil {
		return nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := s.cfg.DB.ExecContext(ctx, `INSERT INTO automation_drift(checked_at, source, drifted, report) VALUES(?, ?, ?, ?)`,
		r.CheckedAt.UnixMilli(), r.Source, len(r.Items), string(b)); err != nil {
		return fmt.Errorf("save drift report: %w", err)
	}
	if _, err := s.cfg.DB.ExecContext(ctx, `DELETE FROM automation_drift WHERE id <= (SELECT MAX(id) FROM automation_drift) - ?`, keepReports); err != nil {
		return fmt.Errorf("prune drift reports: %w", err)
	}
	return nil
}

// Latest returns the newest stored report of every source.
func (s *Service) Latest(ctx context.Context) ([]*Report, error) {
	if s.cfg.DB == nil {
		return nil, nil
	}
	rows, err := s.cfg.DB.QueryContext(ctx, `SELECT report FROM automation_drift WHERE id IN (SELECT MAX(id) FROM automation_drift GROUP BY source) ORDER BY source`)
	if err != nil {
		return nil, fmt.Errorf("drift reports: %w", err)
	}
	raw, err := sqlutil.Strings(rows)
	if err != nil {
		return nil, err
	}
	out := make([]*Report, 0, len(raw))
	for _, b := range raw {
		var r Report
		if err := json.Unmarshal([]byte(b), &r); err != nil {
			return nil, fmt.Errorf("stored drift report: %w", err)
		}
		out = append(out, &r)
	}
	return out, nil
}

// ReleaseInfo describes an installed release for the Automation page.
type ReleaseInfo struct {
	Name         string         `json:"name"`
	Namespace    string         `json:"namespace"`
	Chart        string         `json:"chart"`
	ChartVersion string         `json:"chartVersion"`
	AppVersion   string         `json:"appVersion"`
	Revision     int            `json:"revision"`
	Status       string         `json:"status"`
	Deployed     time.Time      `json:"deployed"`
	Description  string         `json:"description"`
	Values       map[string]any `json:"values"`     // in effect: chart defaults merged with user values, masked
	UserValues   map[string]any `json:"userValues"` // as given at install/upgrade, masked
	Agents       []Agent        `json:"agents"`
	History      []Deployment   `json:"history"`
}

// Deployment is one revision of a release.
type Deployment struct {
	Revision    int       `json:"revision"`
	Time        time.Time `json:"time"`
	Status      string    `json:"status"`
	Chart       string    `json:"chart"`
	AppVersion  string    `json:"appVersion"`
	Description string    `json:"description"`
}

// Status is the body of GET /api/automation/status.
type Status struct {
	Cluster  bool          `json:"cluster"`
	Error    string        `json:"error,omitempty"`
	Releases []ReleaseInfo `json:"releases"`
	Drift    []*Report     `json:"drift"`
}

// Status collects installed releases, their agents and deployments, and the
// latest drift reports.
func (s *Service) Status(ctx context.Context) (*Status, error) {
	st := &Status{Cluster: s.cfg.HasCluster, Releases: []ReleaseInfo{}, Drift: []*Report{}}
	latest, err := s.Latest(ctx)
	if err != nil {
		return nil, err
	}
	if latest != nil {
		st.Drift = latest
	}
	if !s.cfg.HasCluster {
		return st, nil
	}
	c, err := s.kube()
	if err != nil {
		st.Error = err.Error()
		return st, nil
	}
	for _, ns := range s.namespaces() {
		rs, err := c.Releases(ns)
		if err != nil {
			st.Error = err.Error()
			return st, nil
		}
		for _, rel := range rs {
			st.Releases = append(st.Releases, s.releaseInfo(ctx, c, rel))
		}
	}
	sort.Slice(st.Releases, func(i, j int) bool {
		return st.Releases[i].Namespace+"/"+st.Releases[i].Name < st.Releases[j].Namespace+"/"+st.Releases[j].Name
	})
	// A deployment since the last check makes its report stale: check again now
	// rather than show drift the rollout has already put right.
	if stale(st) {
		if _, err := s.Check(ctx); err != nil {
			st.Error = err.Error()
		} else if latest, err := s.Latest(ctx); err == nil {
			st.Drift = latest
		}
	}
	return st, nil
}

func stale(st *Status) bool {
	checked := map[string]time.Time{}
	for _, r := range st.Drift {
		checked[r.Source] = r.CheckedAt
	}
	for _, r := range st.Releases {
		if r.Status != "deployed" {
			continue
		}
		at, ok := checked["helm:"+r.Namespace+"/"+r.Name]
		if !ok || r.Deployed.After(at) {
			return true
		}
	}
	return false
}

func (s *Service) releaseInfo(ctx context.Context, c *Client, rel *release.Release) ReleaseInfo {
	ri := ReleaseInfo{Name: rel.Name, Namespace: rel.Namespace, Revision: rel.Version, History: []Deployment{}, Agents: []Agent{}}
	if rel.Chart != nil && rel.Chart.Metadata != nil {
		ri.Chart, ri.ChartVersion, ri.AppVersion = rel.Chart.Metadata.Name, rel.Chart.Metadata.Version, rel.Chart.Metadata.AppVersion
	}
	if rel.Info != nil {
		ri.Status, ri.Deployed, ri.Description = string(rel.Info.Status), rel.Info.LastDeployed, rel.Info.Description
	}
	ri.UserValues, _ = MaskValues(mapOrEmpty(rel.Config)).(map[string]any)
	var defaults map[string]any
	if rel.Chart != nil {
		defaults = rel.Chart.Values
	}
	ri.Values, _ = MaskValues(mergeValues(mapOrEmpty(defaults), mapOrEmpty(rel.Config), 0)).(map[string]any)
	if ri.Chart == "vigil" {
		if ag, err := Agents(ctx, c.cs, rel.Namespace, rel.Name); err == nil {
			ri.Agents = ag
		} else {
			s.cfg.Log.Warn("agents", "err", err)
		}
	}
	if hist, err := c.History(rel.Namespace, rel.Name); err == nil {
		for _, h := range hist {
			d := Deployment{Revision: h.Version, Chart: chartName(h.Chart)}
			if h.Chart != nil && h.Chart.Metadata != nil {
				d.AppVersion = h.Chart.Metadata.AppVersion
			}
			if h.Info != nil {
				d.Time, d.Status, d.Description = h.Info.LastDeployed, string(h.Info.Status), h.Info.Description
			}
			ri.History = append(ri.History, d)
		}
	}
	return ri
}

// mergeValues overlays user values on chart defaults, as Helm coalesces them.
func mergeValues(base, over map[string]any, depth int) map[string]any {
	out := make(map[string]any, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		bm, ok1 := out[k].(map[string]any)
		om, ok2 := v.(map[string]any)
		if ok1 && ok2 && depth < maxDepth {
			out[k] = mergeValues(bm, om, depth+1)
			continue
		}
		out[k] = v
	}
	return out
}

// Register mounts the API; wrap adds authentication.
func (s *Service) Register(mux *http.ServeMux, wrap func(http.Handler) http.Handler) {
	mux.Handle("GET /api/automation/status", wrap(http.HandlerFunc(s.serveStatus)))
	mux.Handle("GET /api/automation/drift", wrap(http.HandlerFunc(s.serveDrift)))
	mux.Handle("POST /api/automation/drift/check", wrap(http.HandlerFunc(s.serveCheck)))
}

// writeJSON answers JSON no cache may keep: drift changes between requests.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Cache-Control", "no-store")
	httpjson.Write(w, code, v)
}

func (s *Service) serveStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.Status(r.Context())
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Service) serveDrift(w http.ResponseWriter, r *http.Request) {
	rs, err := s.Latest(r.Context())
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	if rs == nil {
		rs = []*Report{}
	}
	writeJSON(w, http.StatusOK, rs)
}

func (s *Service) serveCheck(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	rs, err := s.Check(ctx)
	if errors.Is(err, errNoCluster) {
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
		return
	}
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
		return
	}
	if rs == nil {
		rs = []*Report{}
	}
	writeJSON(w, http.StatusOK, rs)
}
