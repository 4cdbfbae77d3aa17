package server

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/prometheus/promql"

	"vigil/internal/events"
	"vigil/internal/kube"
)

// snapshotCache shares one cluster snapshot between requests arriving within
// a second of each other: dashboards ask for several views at once.
type snapshotCache struct {
	mu   sync.Mutex
	snap *kube.Snapshot
}

func (s *Server) snapshot() (*kube.Snapshot, error) {
	if s.Kube == nil {
		return nil, errNoCluster
	}
	s.snaps.mu.Lock()
	defer s.snaps.mu.Unlock()
	if s.snaps.snap != nil && time.Since(s.snaps.snap.At) < time.Second {
		return s.snaps.snap, nil
	}
	snap, err := s.Kube.Snapshot()
	if err != nil {
		return nil, err
	}
	s.snaps.snap = snap
	return snap, nil
}

// runClusterWriters records events and writes kube-state series until ctx
// ends; with leader election only while this replica leads.
func (s *Server) runClusterWriters(ctx context.Context) {
	lead := func(ctx context.Context) {
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := s.kubeWatcher.Run(ctx); err != nil {
				s.log.Error("events", "err", err)
			}
		}()
		go func() {
			defer wg.Done()
			if err := s.KubeState.Run(ctx, s.Metrics, 15*time.Second); err != nil && ctx.Err() == nil {
				s.log.Error("kube-state metrics", "err", err)
			}
		}()
		wg.Wait()
	}
	if !s.cfg.LeaderElect {
		lead(ctx)
		return
	}
	ns := s.cfg.LeaderNamespace
	if ns == "" {
		ns = "default"
	}
	if err := kube.RunAsLeader(ctx, s.Kube.Client(), kube.LeaderConfig{Namespace: ns, Name: "vigil-server"}, s.log, lead); err != nil {
		s.log.Error("leader election", "err", err)
	}
}

var errNoCluster = fmt.Errorf("vigil is not connected to a Kubernetes cluster (start the server with --kubeconfig or in a pod)")

func (s *Server) clusterErr(w http.ResponseWriter, err error) {
	if err == errNoCluster {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	s.log.Error("cluster view", "err", err)
	http.Error(w, err.Error(), http.StatusInternalServerError)
}

// Usage series: the kubelet's resource metrics (container_*), the agent's node metrics.
const (
	qPodCPU   = `sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{container!=""}[%s]))`
	qPodMem   = `sum by (namespace, pod) (avg_over_time(container_memory_working_set_bytes{container!=""}[%s]))`
	qCtrCPU   = `sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{container!=""}[%s]))`
	qCtrMem   = `sum by (namespace, pod, container) (avg_over_time(container_memory_working_set_bytes{container!=""}[%s]))`
	qNodeCPU  = `sum by (node) (rate(node_cpu_usage_seconds_total[%[1]s])) or sum by (node) (rate(node_cpu_seconds_total{mode!~"idle|iowait|steal"}[%[1]s]))`
	qNodeMem  = `sum by (node) (avg_over_time(node_memory_working_set_bytes[%[1]s])) or sum by (node) (avg_over_time(node_memory_MemTotal_bytes[%[1]s]) - avg_over_time(node_memory_MemAvailable_bytes[%[1]s]))`
	qPodLimit = `sum by (namespace, pod, resource) (kube_pod_container_resource_limits{resource=~"cpu|memory"})`
)

// vector runs an instant PromQL query and indexes the result by the given labels.
func (s *Server) vector(ctx context.Context, expr string, at time.Time, by ...string) (map[string]float64, error) {
	res, err := s.Metrics.Query(ctx, expr, at)
	if err != nil {
		return nil, err
	}
	vec, _ := res.Value.(promql.Vector)
	out := make(map[string]float64, len(vec))
	for _, smp := range vec {
		parts := make([]string, len(by))
		for i, l := range by {
			parts[i] = smp.Metric.Get(l)
		}
		out[strings.Join(parts, "/")] = smp.F
	}
	return out, nil
}

// promRange turns "15m", "1h", "24h" into a PromQL duration, defaulting to 1h.
func promRange(r *http.Request) string {
	v := r.URL.Query().Get("range")
	if d, err := time.ParseDuration(v); err == nil && d >= time.Minute && d <= 31*24*time.Hour {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return "1h"
}

// Overview is the cluster overview dashboard's data.
type Overview struct {
	Nodes struct {
		Total int `json:"total"`
		Ready int `json:"ready"`
	} `json:"nodes"`
	Namespaces int `json:"namespaces"`
	Pods       struct {
		Total   int            `json:"total"`
		ByPhase map[string]int `json:"byPhase"`
	} `json:"pods"`
	Containers struct {
		Total    int   `json:"total"`
		Running  int   `json:"running"`
		Waiting  int   `json:"waiting"`
		Restarts int64 `json:"restarts"`
	} `json:"containers"`
	Deployments struct {
		Total   int   `json:"total"`
		Ready   int   `json:"ready"` // deployments with every desired replica ready
		Desired int32 `json:"desiredReplicas"`
		ReadyR  int32 `json:"readyReplicas"`
	} `json:"deployments"`
	Workloads  map[string]int   `json:"workloads"` // by kind
	Services   int              `json:"services"`
	Ingresses  int              `json:"ingresses"`
	PVCs       int              `json:"pvcs"`
	TopCPU     []Usage          `json:"topCPU"`
	TopMemory  []Usage          `json:"topMemory"`
	NodeHealth []kube.NodeState `json:"nodeHealth"`
	Warnings   []events.Event   `json:"warnings"`
	Unhealthy  []kube.PodView   `json:"unhealthyPods"`
}

// Usage is one pod's resource use.
type Usage struct {
	Namespace string  `json:"namespace"`
	Pod       string  `json:"pod"`
	Value     float64 `json:"value"`
}

func (s *Server) clusterOverview(w http.ResponseWriter, r *http.Request) {
	snap, err := s.snapshot()
	if err != nil {
		s.clusterErr(w, err)
		return
	}
	var o Overview
	o.Nodes.Total = len(snap.Nodes)
	for _, n := range snap.Nodes {
		if n.Ready {
			o.Nodes.Ready++
		}
	}
	o.NodeHealth = snap.Nodes
	o.Namespaces = len(snap.Namespaces)
	o.Pods.Total = len(snap.Pods)
	o.Pods.ByPhase = map[string]int{}
	o.Unhealthy = []kube.PodView{}
	for _, p := range snap.Pods {
		o.Pods.ByPhase[p.Phase]++
		for _, c := range p.Containers {
			o.Containers.Total++
			o.Containers.Restarts += int64(c.Restarts)
			switch c.State {
			case "running":
				o.Containers.Running++
			case "waiting":
				o.Containers.Waiting++
			}
		}
		if (p.Health == kube.Critical || p.Health == kube.Warn) && len(o.Unhealthy) < 20 {
			o.Unhealthy = append(o.Unhealthy, p)
		}
	}
	o.Workloads = map[string]int{}
	for _, wl := range snap.Workloads {
		o.Workloads[wl.Kind]++
		if wl.Kind == "Deployment" {
			o.Deployments.Total++
			o.Deployments.Desired += wl.Desired
			o.Deployments.ReadyR += wl.Ready
			if wl.Ready >= wl.Desired {
				o.Deployments.Ready++
			}
		}
	}
	o.Services, o.Ingresses, o.PVCs = len(snap.Services), snap.Ingresses, snap.PVCs
	ctx, now := r.Context(), time.Now()
	o.TopCPU, o.TopMemory = []Usage{}, []Usage{}
	for _, q := range []struct {
		expr string
		dst  *[]Usage
	}{
		{`topk(10, ` + fmt.Sprintf(qPodCPU, "5m") + `)`, &o.TopCPU},
		{`topk(10, ` + fmt.Sprintf(qPodMem, "5m") + `)`, &o.TopMemory},
	} {
		res, err := s.Metrics.Query(ctx, q.expr, now)
		if err != nil {
			s.clusterErr(w, err)
			return
		}
		vec, _ := res.Value.(promql.Vector)
		for _, smp := range vec {
			*q.dst = append(*q.dst, Usage{Namespace: smp.Metric.Get("namespace"), Pod: smp.Metric.Get("pod"), Value: smp.F})
		}
		slices.SortFunc(*q.dst, func(a, b Usage) int { return cmpF(b.Value, a.Value) })
	}
	o.Warnings, err = s.Events.Find(ctx, events.Filter{Types: []string{events.Warning}, Start: now.Add(-time.Hour), Limit: 20})
	if err != nil {
		s.clusterErr(w, err)
		return
	}
	if o.Warnings == nil {
		o.Warnings = []events.Event{}
	}
	writeJSON(w, http.StatusOK, o)
}

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// MapNamespace is one namespace of the cluster map with everything in it.
type MapNamespace struct {
	Name      string             `json:"name"`
	Health    kube.Health        `json:"health"`
	Workloads []MapWorkload      `json:"workloads"`
	Services  []kube.ServiceView `json:"services"`
}

// MapWorkload is a workload with its pods.
type MapWorkload struct {
	kube.WorkloadView
	PodViews []kube.PodView `json:"podViews"`
}

func (s *Server) clusterMap(w http.ResponseWriter, r *http.Request) {
	snap, err := s.snapshot()
	if err != nil {
		s.clusterErr(w, err)
		return
	}
	nsFilter := r.URL.Query().Get("namespace")
	pods := map[string]kube.PodView{}
	for _, p := range snap.Pods {
		pods[p.Namespace+"/"+p.Name] = p
	}
	out := []MapNamespace{}
	for _, ns := range snap.Namespaces {
		if nsFilter != "" && ns.Name != nsFilter {
			continue
		}
		m := MapNamespace{Name: ns.Name, Health: ns.Health, Workloads: []MapWorkload{}, Services: []kube.ServiceView{}}
		for _, wl := range snap.Workloads {
			if wl.Namespace != ns.Name {
				continue
			}
			mw := MapWorkload{WorkloadView: wl, PodViews: []kube.PodView{}}
			for _, name := range wl.Pods {
				p := pods[ns.Name+"/"+name]
				p.Labels = nil // the map does not need them; keeps the payload small
				mw.PodViews = append(mw.PodViews, p)
			}
			m.Workloads = append(m.Workloads, mw)
		}
		for _, sv := range snap.Services {
			if sv.Namespace == ns.Name {
				m.Services = append(m.Services, sv)
			}
		}
		out = append(out, m)
	}
	writeJSON(w, http.StatusOK, out)
}

// ResourceRow is one line of the resource list.
type ResourceRow struct {
	Kind      string      `json:"kind"`
	Namespace string      `json:"namespace,omitempty"`
	Name      string      `json:"name"`
	Health    kube.Health `json:"health"`
	Status    string      `json:"status,omitempty"`
	CPU       float64     `json:"cpuCores"`           // average over the range
	Memory    float64     `json:"memoryBytes"`        // average over the range
	CPUPct    *float64    `json:"cpuPercent"`         // of the limit (pods, workloads) or capacity (nodes, cluster)
	MemPct    *float64    `json:"memoryPercent"`      // same
	Pods      int         `json:"pods,omitempty"`     // pods it holds
	Node      string      `json:"node,omitempty"`     // pods
	Extra     string      `json:"workload,omitempty"` // pods: their workload "Kind/name"
}

func pct(v, of float64) *float64 {
	if of <= 0 {
		return nil
	}
	p := 100 * v / of
	return &p
}

// clusterResources lists cluster, nodes, namespaces, workloads and pods with
// their average CPU and memory use over ?range= (default 1h).
func (s *Server) clusterResources(w http.ResponseWriter, r *http.Request) {
	snap, err := s.snapshot()
	if err != nil {
		s.clusterErr(w, err)
		return
	}
	ctx, now, rng := r.Context(), time.Now(), promRange(r)
	podCPU, err := s.vector(ctx, fmt.Sprintf(qPodCPU, rng), now, "namespace", "pod")
	if err != nil {
		s.clusterErr(w, err)
		return
	}
	podMem, err := s.vector(ctx, fmt.Sprintf(qPodMem, rng), now, "namespace", "pod")
	if err != nil {
		s.clusterErr(w, err)
		return
	}
	limits, err := s.vector(ctx, qPodLimit, now, "namespace", "pod", "resource")
	if err != nil {
		s.clusterErr(w, err)
		return
	}
	nodeCPU, err := s.vector(ctx, fmt.Sprintf(qNodeCPU, rng), now, "node")
	if err != nil {
		s.clusterErr(w, err)
		return
	}
	nodeMem, err := s.vector(ctx, fmt.Sprintf(qNodeMem, rng), now, "node")
	if err != nil {
		s.clusterErr(w, err)
		return
	}
	kinds := r.URL.Query()["kind"]
	want := func(k string) bool { return len(kinds) == 0 || slices.Contains(kinds, k) }
	rows := []ResourceRow{}

	var capCPU, capMem, useCPU, useMem float64
	for _, n := range snap.Nodes {
		capCPU += n.CPUCores
		capMem += float64(n.MemoryBytes)
		row := ResourceRow{Kind: "node", Name: n.Name, Health: n.Health, CPU: nodeCPU[n.Name], Memory: nodeMem[n.Name], Pods: n.Pods}
		row.Status = "Ready"
		if !n.Ready {
			row.Status = "NotReady"
		}
		row.CPUPct, row.MemPct = pct(row.CPU, n.CPUCores), pct(row.Memory, float64(n.MemoryBytes))
		if want("node") {
			rows = append(rows, row)
		}
	}
	type agg struct{ cpu, mem, cpuLim, memLim float64 }
	byNS, byWL := map[string]*agg{}, map[string]*agg{}
	get := func(m map[string]*agg, k string) *agg {
		if a, ok := m[k]; ok {
			return a
		}
		a := &agg{}
		m[k] = a
		return a
	}
	var podRows []ResourceRow
	health := kube.OK
	for _, p := range snap.Pods {
		k := p.Namespace + "/" + p.Name
		c, m := podCPU[k], podMem[k]
		cl, ml := limits[k+"/cpu"], limits[k+"/memory"]
		useCPU += c
		useMem += m
		health = kube.Worst(health, p.Health)
		for _, a := range []*agg{get(byNS, p.Namespace), get(byWL, p.Namespace+"/"+workloadKey(p))} {
			a.cpu += c
			a.mem += m
			a.cpuLim += cl
			a.memLim += ml
		}
		if want("pod") {
			podRows = append(podRows, ResourceRow{Kind: "pod", Namespace: p.Namespace, Name: p.Name, Health: p.Health,
				Status: p.Status, CPU: c, Memory: m, CPUPct: pct(c, cl), MemPct: pct(m, ml), Node: p.Node, Extra: workloadKey(p)})
		}
	}
	if want("cluster") {
		rows = append([]ResourceRow{{Kind: "cluster", Name: "cluster", Health: health, CPU: useCPU, Memory: useMem,
			CPUPct: pct(useCPU, capCPU), MemPct: pct(useMem, capMem), Pods: len(snap.Pods)}}, rows...)
	}
	if want("namespace") {
		for _, ns := range snap.Namespaces {
			a := get(byNS, ns.Name)
			rows = append(rows, ResourceRow{Kind: "namespace", Name: ns.Name, Health: ns.Health, Status: ns.Phase,
				CPU: a.cpu, Memory: a.mem, CPUPct: pct(a.cpu, capCPU), MemPct: pct(a.mem, capMem), Pods: ns.Pods})
		}
	}
	if want("workload") {
		for _, wl := range snap.Workloads {
			a := get(byWL, wl.Namespace+"/"+wl.Kind+"/"+wl.Name)
			rows = append(rows, ResourceRow{Kind: "workload", Namespace: wl.Namespace, Name: wl.Kind + "/" + wl.Name, Health: wl.Health,
				Status: fmt.Sprintf("%d/%d ready", wl.Ready, wl.Desired), CPU: a.cpu, Memory: a.mem,
				CPUPct: pct(a.cpu, a.cpuLim), MemPct: pct(a.mem, a.memLim), Pods: len(wl.Pods)})
		}
	}
	rows = append(rows, podRows...)
	writeJSON(w, http.StatusOK, rows)
}

func workloadKey(p kube.PodView) string {
	if p.Workload == "" {
		return "Pod/" + p.Name
	}
	return p.WorkloadKind + "/" + p.Workload
}

// ContainerRow is a container with its current use.
type ContainerRow struct {
	kube.ContainerView
	PodStatus string  `json:"podStatus"`
	CPU       float64 `json:"cpuCores"`
	Memory    float64 `json:"memoryBytes"`
}

// clusterContainers lists containers filtered by node, namespace, workload,
// zone, region, status (running, waiting, terminated, or a reason) and free text.
func (s *Server) clusterContainers(w http.ResponseWriter, r *http.Request) {
	snap, err := s.snapshot()
	if err != nil {
		s.clusterErr(w, err)
		return
	}
	q := r.URL.Query()
	text := strings.ToLower(strings.TrimSpace(q.Get("q")))
	match := func(key, v string) bool { return q.Get(key) == "" || q.Get(key) == v }
	ctx, now := r.Context(), time.Now()
	cpu, err := s.vector(ctx, fmt.Sprintf(qCtrCPU, "5m"), now, "namespace", "pod", "container")
	if err != nil {
		s.clusterErr(w, err)
		return
	}
	mem, err := s.vector(ctx, fmt.Sprintf(qCtrMem, "5m"), now, "namespace", "pod", "container")
	if err != nil {
		s.clusterErr(w, err)
		return
	}
	out := []ContainerRow{}
	for _, p := range snap.Pods {
		for _, c := range p.Containers {
			wl := c.WorkloadKind + "/" + c.Workload
			if c.Workload == "" {
				wl = ""
			}
			if !match("node", c.Node) || !match("namespace", c.Namespace) || !match("zone", c.Zone) || !match("region", c.Region) {
				continue
			}
			if v := q.Get("workload"); v != "" && v != wl && v != c.Workload {
				continue
			}
			if v := q.Get("status"); v != "" && v != c.State && v != c.Reason && v != string(c.Health) {
				continue
			}
			if text != "" && !strings.Contains(strings.ToLower(strings.Join([]string{c.Namespace, c.Pod, c.Name, c.Node, c.Image, c.Workload, c.Reason}, " ")), text) {
				continue
			}
			k := c.Namespace + "/" + c.Pod + "/" + c.Name
			out = append(out, ContainerRow{ContainerView: c, PodStatus: p.Status, CPU: cpu[k], Memory: mem[k]})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// Detail pages: the object, its pods and its recent events.

func (s *Server) namespaceDetail(w http.ResponseWriter, r *http.Request) {
	snap, err := s.snapshot()
	if err != nil {
		s.clusterErr(w, err)
		return
	}
	name := r.PathValue("name")
	for _, ns := range snap.Namespaces {
		if ns.Name != name {
			continue
		}
		out := struct {
			kube.NamespaceView
			Workloads []kube.WorkloadView `json:"workloadList"`
			PodList   []kube.PodView      `json:"podList"`
			Services  []kube.ServiceView  `json:"services"`
			Events    []events.Event      `json:"events"`
		}{NamespaceView: ns, Workloads: []kube.WorkloadView{}, PodList: []kube.PodView{}, Services: []kube.ServiceView{}}
		for _, wl := range snap.Workloads {
			if wl.Namespace == name {
				out.Workloads = append(out.Workloads, wl)
			}
		}
		for _, p := range snap.Pods {
			if p.Namespace == name {
				out.PodList = append(out.PodList, p)
			}
		}
		for _, sv := range snap.Services {
			if sv.Namespace == name {
				out.Services = append(out.Services, sv)
			}
		}
		if out.Events, err = s.recentEvents(r.Context(), events.Filter{Namespaces: []string{name}}); err != nil {
			s.clusterErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	http.Error(w, "no namespace "+name, http.StatusNotFound)
}

func (s *Server) recentEvents(ctx context.Context, f events.Filter) ([]events.Event, error) {
	f.Start, f.Limit = time.Now().Add(-24*time.Hour), 100
	evs, err := s.Events.Find(ctx, f)
	if evs == nil {
		evs = []events.Event{}
	}
	return evs, err
}

func (s *Server) workloadDetail(w http.ResponseWriter, r *http.Request) {
	snap, err := s.snapshot()
	if err != nil {
		s.clusterErr(w, err)
		return
	}
	ns, kind, name := r.PathValue("namespace"), r.PathValue("kind"), r.PathValue("name")
	for _, wl := range snap.Workloads {
		if wl.Namespace != ns || !strings.EqualFold(wl.Kind, kind) || wl.Name != name {
			continue
		}
		out := struct {
			kube.WorkloadView
			PodList []kube.PodView `json:"podList"`
			Events  []events.Event `json:"events"`
		}{WorkloadView: wl, PodList: []kube.PodView{}}
		evNames := []string{wl.Name}
		for _, p := range snap.Pods {
			if p.Namespace == ns && slices.Contains(wl.Pods, p.Name) {
				out.PodList = append(out.PodList, p)
				evNames = append(evNames, p.Name)
			}
		}
		// The workload's own events and its pods' (ReplicaSets' names start with the Deployment's).
		all, err := s.recentEvents(r.Context(), events.Filter{Namespaces: []string{ns}})
		if err != nil {
			s.clusterErr(w, err)
			return
		}
		out.Events = []events.Event{}
		for _, e := range all {
			if slices.Contains(evNames, e.Name) || strings.HasPrefix(e.Name, wl.Name+"-") {
				out.Events = append(out.Events, e)
			}
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	http.Error(w, fmt.Sprintf("no %s %s/%s", kind, ns, name), http.StatusNotFound)
}

func (s *Server) podDetail(w http.ResponseWriter, r *http.Request) {
	snap, err := s.snapshot()
	if err != nil {
		s.clusterErr(w, err)
		return
	}
	ns, name := r.PathValue("namespace"), r.PathValue("name")
	for _, p := range snap.Pods {
		if p.Namespace != ns || p.Name != name {
			continue
		}
		evs, err := s.recentEvents(r.Context(), events.Filter{Namespaces: []string{ns}, Name: name})
		if err != nil {
			s.clusterErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, struct {
			kube.PodView
			Events []events.Event `json:"events"`
		}{p, evs})
		return
	}
	http.Error(w, fmt.Sprintf("no pod %s/%s", ns, name), http.StatusNotFound)
}
