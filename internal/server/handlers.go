package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/prometheus/promql"

	"vigil/internal/auth"
	"vigil/internal/kube"
	"vigil/internal/store/state"
)

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		http.Error(w, "malformed JSON body: "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	id, csrf, err := s.Auth.Login(r.Context(), req.Username, req.Password)
	if errors.Is(err, auth.ErrBadCredentials) {
		s.log.Warn("failed login", "user", req.Username, "remote", r.RemoteAddr)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": err.Error()})
		return
	}
	if err != nil {
		s.log.Error("login", "err", err)
		http.Error(w, "login failed", http.StatusInternalServerError)
		return
	}
	s.Auth.SetSessionCookie(w, id)
	writeJSON(w, http.StatusOK, map[string]string{"user": req.Username, "csrf": csrf})
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	writeJSON(w, http.StatusOK, map[string]string{"user": p.User, "csrf": p.CSRF, "kind": p.Kind})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(auth.SessionCookie); err == nil {
		if err := s.Auth.Logout(r.Context(), c.Value); err != nil {
			s.log.Error("logout", "err", err)
		}
	}
	s.Auth.ClearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := s.State.ListTokens(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, ts)
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
		Kind string `json:"kind"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" || len(req.Name) > 100 {
		http.Error(w, "name must be 1-100 characters", http.StatusBadRequest)
		return
	}
	if req.Kind == "" {
		req.Kind = auth.KindAPI
	}
	t, secret, err := s.Auth.CreateToken(r.Context(), req.Name, req.Kind)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": t.ID, "name": t.Name, "kind": t.Kind, "token": secret})
}

func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request) {
	// The in-process agent of `vigil up` would silently stop shipping without its token.
	if ts, err := s.State.ListTokens(r.Context()); err == nil {
		for _, t := range ts {
			if t.ID == r.PathValue("id") && t.Name == localAgentTokenName {
				http.Error(w, "the local agent's token cannot be deleted while vigil runs", http.StatusConflict)
				return
			}
		}
	}
	err := s.State.DeleteToken(r.Context(), r.PathValue("id"))
	if errors.Is(err, state.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// agentNodeSeries selects series every agent sends for its node.
const agentNodeSeries = `{__name__=~"node_load1|node_cpu_seconds_total|node_memory_MemTotal_bytes",node!=""}`

// NodeView merges what Kubernetes says about a node with what its agent reports.
type NodeView struct {
	Name        string            `json:"name"`
	Source      []string          `json:"source"`
	Labels      map[string]string `json:"labels"`
	Ready       *bool             `json:"ready,omitempty"`
	CPUCores    float64           `json:"cpuCores"`
	MemoryBytes float64           `json:"memoryBytes"`
	LastSeen    *time.Time        `json:"lastSeen,omitempty"`
	Zone        string            `json:"zone,omitempty"`
}

func (s *Server) nodes(r *http.Request) ([]NodeView, error) {
	byName := map[string]*NodeView{}
	get := func(name string) *NodeView {
		if n, ok := byName[name]; ok {
			return n
		}
		n := &NodeView{Name: name, Labels: map[string]string{}}
		byName[name] = n
		return n
	}
	if s.Kube != nil {
		for _, kn := range s.Kube.Nodes() {
			n := get(kn.Name)
			n.Source = append(n.Source, "kube")
			n.Labels, n.CPUCores, n.MemoryBytes, n.Zone = kn.Labels, kn.CPUCores, float64(kn.MemoryBytes), kn.Zone
			ready := kn.Ready
			n.Ready = &ready
		}
	}
	now := time.Now()
	ctx := r.Context()
	names, err := s.Metrics.LabelValues(ctx, "node", []string{agentNodeSeries}, now.Add(-7*24*time.Hour), now, 0)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		n := get(name)
		n.Source = append(n.Source, "agent")
	}
	vectors := []struct {
		expr string
		set  func(n *NodeView, v float64)
	}{
		{`max by (node) (timestamp(node_memory_MemTotal_bytes))`, func(n *NodeView, v float64) {
			t := time.UnixMilli(int64(v * 1000)).UTC()
			n.LastSeen = &t
		}},
		{`count by (node) (node_cpu_seconds_total{mode="idle"})`, func(n *NodeView, v float64) {
			if n.CPUCores == 0 {
				n.CPUCores = v
			}
		}},
		{`max by (node) (node_memory_MemTotal_bytes)`, func(n *NodeView, v float64) {
			if n.MemoryBytes == 0 {
				n.MemoryBytes = v
			}
		}},
	}
	for _, q := range vectors {
		res, err := s.Metrics.Query(ctx, q.expr, now)
		if err != nil {
			return nil, err
		}
		vec, _ := res.Value.(promql.Vector)
		for _, smp := range vec {
			if n, ok := byName[smp.Metric.Get("node")]; ok {
				q.set(n, smp.F)
			}
		}
	}
	out := make([]NodeView, 0, len(byName))
	for _, n := range byName {
		out = append(out, *n)
	}
	slices.SortFunc(out, func(a, b NodeView) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (s *Server) listNodes(w http.ResponseWriter, r *http.Request) {
	ns, err := s.nodes(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, ns)
}

func (s *Server) getNode(w http.ResponseWriter, r *http.Request) {
	ns, err := s.nodes(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	for _, n := range ns {
		if n.Name == r.PathValue("name") {
			writeJSON(w, http.StatusOK, n)
			return
		}
	}
	http.NotFound(w, r)
}

func (s *Server) listPods(w http.ResponseWriter, r *http.Request) {
	if s.Kube == nil {
		writeJSON(w, http.StatusOK, []kube.Pod{})
		return
	}
	writeJSON(w, http.StatusOK, s.Kube.Pods(r.URL.Query().Get("namespace")))
}
