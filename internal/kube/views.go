package kube

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Health is a traffic-light state shared by every object view.
type Health string

const (
	OK       Health = "ok"
	Warn     Health = "warning"
	Critical Health = "critical"
	Unknown  Health = "unknown"
)

func (h Health) rank() int {
	switch h {
	case Critical:
		return 3
	case Warn:
		return 2
	case Unknown:
		return 1
	}
	return 0
}

// Worst returns the worse of two health states.
func Worst(a, b Health) Health {
	if b.rank() > a.rank() {
		return b
	}
	return a
}

// ContainerView is one container of a pod with its state.
type ContainerView struct {
	Namespace    string     `json:"namespace"`
	Pod          string     `json:"pod"`
	Name         string     `json:"name"`
	Node         string     `json:"node"`
	Workload     string     `json:"workload,omitempty"`
	WorkloadKind string     `json:"workloadKind,omitempty"`
	Image        string     `json:"image"`
	ImageID      string     `json:"imageID,omitempty"`
	ContainerID  string     `json:"containerID,omitempty"`
	State        string     `json:"state"` // running, waiting, terminated, unknown
	Reason       string     `json:"reason,omitempty"`
	Ready        bool       `json:"ready"`
	Restarts     int32      `json:"restarts"`
	StartedAt    *time.Time `json:"startedAt,omitempty"`
	Zone         string     `json:"zone,omitempty"`
	Region       string     `json:"region,omitempty"`
	Health       Health     `json:"health"`
}

// PodView is a pod with a kubectl-like status and its containers.
type PodView struct {
	Namespace    string            `json:"namespace"`
	Name         string            `json:"name"`
	UID          string            `json:"uid"`
	Node         string            `json:"node"`
	Phase        string            `json:"phase"`
	Status       string            `json:"status"` // as kubectl's STATUS column: Running, Pending, CrashLoopBackOff, Completed, Terminating…
	ReadyCount   int               `json:"readyContainers"`
	Restarts     int32             `json:"restarts"`
	Workload     string            `json:"workload,omitempty"`
	WorkloadKind string            `json:"workloadKind,omitempty"`
	IP           string            `json:"ip,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	Created      time.Time         `json:"created"`
	Health       Health            `json:"health"`
	Containers   []ContainerView   `json:"containers"`
}

// WorkloadView is a controller (or a bare pod's stand-in) with its replicas.
type WorkloadView struct {
	Namespace string            `json:"namespace"`
	Kind      string            `json:"kind"`
	Name      string            `json:"name"`
	Desired   int32             `json:"desired"`
	Ready     int32             `json:"ready"`
	Available int32             `json:"available"`
	Labels    map[string]string `json:"labels,omitempty"`
	Selector  map[string]string `json:"selector,omitempty"`
	Created   time.Time         `json:"created"`
	Health    Health            `json:"health"`
	Pods      []string          `json:"pods"`
}

// ServiceView is a service and the workloads its selector picks.
type ServiceView struct {
	Namespace string            `json:"namespace"`
	Name      string            `json:"name"`
	Type      string            `json:"type"`
	ClusterIP string            `json:"clusterIP,omitempty"`
	Ports     []string          `json:"ports,omitempty"`
	Selector  map[string]string `json:"selector,omitempty"`
	Workloads []string          `json:"workloads"` // "Kind/name"
}

// NamespaceView sums up a namespace.
type NamespaceView struct {
	Name      string            `json:"name"`
	Phase     string            `json:"phase"`
	Labels    map[string]string `json:"labels,omitempty"`
	Created   time.Time         `json:"created"`
	Pods      int               `json:"pods"`
	Workloads int               `json:"workloads"`
	Health    Health            `json:"health"`
}

// NodeState is a node with its conditions and health.
type NodeState struct {
	Node
	Unschedulable bool     `json:"unschedulable"`
	Pressure      []string `json:"pressure,omitempty"` // conditions other than Ready that are True
	Pods          int      `json:"pods"`
	Region        string   `json:"region,omitempty"`
	Health        Health   `json:"health"`
}

// Snapshot is a consistent-enough picture of the cluster built from the
// informer caches in one pass.
type Snapshot struct {
	At          time.Time       `json:"at"`
	Nodes       []NodeState     `json:"nodes"`
	Namespaces  []NamespaceView `json:"namespaces"`
	Workloads   []WorkloadView  `json:"workloads"`
	Pods        []PodView       `json:"pods"`
	Services    []ServiceView   `json:"services"`
	Ingresses   int             `json:"ingresses"`
	PVCs        int             `json:"pvcs"`
	ReplicaSets int             `json:"replicaSets"`
}

// Snapshot builds the views; it needs a cluster-wide inventory.
func (inv *Inventory) Snapshot() (*Snapshot, error) {
	if inv.Namespaces == nil {
		return nil, fmt.Errorf("inventory is node-scoped")
	}
	all := labels.Everything()
	snap := &Snapshot{At: time.Now()}
	nodes, err := inv.nodes.List(all)
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	zone := map[string][2]string{}
	for _, n := range nodes {
		ns := nodeState(n)
		zone[n.Name] = [2]string{ns.Zone, ns.Region}
		snap.Nodes = append(snap.Nodes, ns)
	}
	jobs, _ := inv.Jobs.List(all)
	jobOwner := map[string]string{} // ns/job -> cronjob
	for _, j := range jobs {
		for _, o := range j.OwnerReferences {
			if o.Kind == "CronJob" && o.Controller != nil && *o.Controller {
				jobOwner[j.Namespace+"/"+j.Name] = o.Name
			}
		}
	}
	pods, err := inv.pods.List(all)
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	podsByWorkload := map[string][]*PodView{}
	nodePods := map[string]int{}
	for _, p := range pods {
		pv := podView(p, zone[p.Spec.NodeName])
		if pv.WorkloadKind == "Job" {
			if cj, ok := jobOwner[p.Namespace+"/"+pv.Workload]; ok {
				pv.Workload, pv.WorkloadKind = cj, "CronJob"
				for i := range pv.Containers {
					pv.Containers[i].Workload, pv.Containers[i].WorkloadKind = cj, "CronJob"
				}
			}
		}
		snap.Pods = append(snap.Pods, pv)
		nodePods[p.Spec.NodeName]++
	}
	slices.SortFunc(snap.Pods, func(a, b PodView) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	for i := range snap.Pods {
		p := &snap.Pods[i]
		kind, name := p.WorkloadKind, p.Workload
		if name == "" {
			kind, name = "Pod", p.Name
		}
		podsByWorkload[p.Namespace+"/"+kind+"/"+name] = append(podsByWorkload[p.Namespace+"/"+kind+"/"+name], p)
	}
	for i := range snap.Nodes {
		snap.Nodes[i].Pods = nodePods[snap.Nodes[i].Name]
	}

	add := func(w WorkloadView) {
		w.Health = OK
		if w.Desired > 0 && w.Ready == 0 {
			w.Health = Critical
		} else if w.Ready < w.Desired {
			w.Health = Warn
		}
		w.Pods = []string{}
		for _, p := range podsByWorkload[w.Namespace+"/"+w.Kind+"/"+w.Name] {
			w.Pods = append(w.Pods, p.Name)
			w.Health = Worst(w.Health, p.Health)
		}
		delete(podsByWorkload, w.Namespace+"/"+w.Kind+"/"+w.Name)
		snap.Workloads = append(snap.Workloads, w)
	}
	deps, _ := inv.Deployments.List(all)
	for _, d := range deps {
		add(WorkloadView{Namespace: d.Namespace, Kind: "Deployment", Name: d.Name, Desired: replicas(d.Spec.Replicas),
			Ready: d.Status.ReadyReplicas, Available: d.Status.AvailableReplicas, Labels: d.Labels,
			Selector: selectorOf(d.Spec.Selector), Created: d.CreationTimestamp.Time})
	}
	sts, _ := inv.StatefulSets.List(all)
	for _, s := range sts {
		add(WorkloadView{Namespace: s.Namespace, Kind: "StatefulSet", Name: s.Name, Desired: replicas(s.Spec.Replicas),
			Ready: s.Status.ReadyReplicas, Available: s.Status.AvailableReplicas, Labels: s.Labels,
			Selector: selectorOf(s.Spec.Selector), Created: s.CreationTimestamp.Time})
	}
	dss, _ := inv.DaemonSets.List(all)
	for _, d := range dss {
		add(WorkloadView{Namespace: d.Namespace, Kind: "DaemonSet", Name: d.Name, Desired: d.Status.DesiredNumberScheduled,
			Ready: d.Status.NumberReady, Available: d.Status.NumberAvailable, Labels: d.Labels,
			Selector: selectorOf(d.Spec.Selector), Created: d.CreationTimestamp.Time})
	}
	for _, j := range jobs {
		if _, owned := jobOwner[j.Namespace+"/"+j.Name]; owned {
			continue
		}
		add(jobView(j))
	}
	cjs, _ := inv.CronJobs.List(all)
	for _, c := range cjs {
		w := WorkloadView{Namespace: c.Namespace, Kind: "CronJob", Name: c.Name, Labels: c.Labels, Created: c.CreationTimestamp.Time}
		w.Desired = int32(len(c.Status.Active))
		w.Ready = w.Desired
		add(w)
	}
	rss, _ := inv.ReplicaSets.List(all)
	snap.ReplicaSets = len(rss)
	for _, r := range rss {
		if isOwnedByDeployment(r) {
			continue
		}
		add(WorkloadView{Namespace: r.Namespace, Kind: "ReplicaSet", Name: r.Name, Desired: replicas(r.Spec.Replicas),
			Ready: r.Status.ReadyReplicas, Available: r.Status.AvailableReplicas, Labels: r.Labels,
			Selector: selectorOf(r.Spec.Selector), Created: r.CreationTimestamp.Time})
	}
	// Whatever is left has no controller we list (bare pods, or an owner of another kind).
	for key, ps := range podsByWorkload {
		parts := strings.SplitN(key, "/", 3)
		w := WorkloadView{Namespace: parts[0], Kind: parts[1], Name: parts[2], Health: OK, Pods: []string{}}
		for _, p := range ps {
			w.Desired++
			if p.ReadyCount == len(p.Containers) && p.Phase == string(corev1.PodRunning) {
				w.Ready++
				w.Available++
			}
			w.Pods = append(w.Pods, p.Name)
			w.Health = Worst(w.Health, p.Health)
			if w.Created.IsZero() || p.Created.Before(w.Created) {
				w.Created = p.Created
			}
		}
		snap.Workloads = append(snap.Workloads, w)
	}
	slices.SortFunc(snap.Workloads, func(a, b WorkloadView) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Kind, b.Kind), strings.Compare(a.Name, b.Name))
	})

	svcs, _ := inv.Services.List(all)
	for _, s := range svcs {
		sv := ServiceView{Namespace: s.Namespace, Name: s.Name, Type: string(s.Spec.Type), ClusterIP: s.Spec.ClusterIP,
			Selector: s.Spec.Selector, Workloads: []string{}}
		for _, p := range s.Spec.Ports {
			sv.Ports = append(sv.Ports, fmt.Sprintf("%d/%s", p.Port, p.Protocol))
		}
		if len(s.Spec.Selector) > 0 {
			sel := labels.SelectorFromSet(s.Spec.Selector)
			seen := map[string]bool{}
			for _, p := range snap.Pods {
				if p.Namespace != s.Namespace || !sel.Matches(labels.Set(p.Labels)) {
					continue
				}
				k := p.WorkloadKind + "/" + p.Workload
				if p.Workload == "" {
					k = "Pod/" + p.Name
				}
				if !seen[k] {
					seen[k] = true
					sv.Workloads = append(sv.Workloads, k)
				}
			}
			slices.Sort(sv.Workloads)
		}
		snap.Services = append(snap.Services, sv)
	}
	slices.SortFunc(snap.Services, func(a, b ServiceView) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	if ing, err := inv.Ingresses.List(all); err == nil {
		snap.Ingresses = len(ing)
	}
	if pvcs, err := inv.PVCs.List(all); err == nil {
		snap.PVCs = len(pvcs)
	}

	nss, err := inv.Namespaces.List(all)
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	for _, n := range nss {
		nv := NamespaceView{Name: n.Name, Phase: string(n.Status.Phase), Labels: n.Labels, Created: n.CreationTimestamp.Time, Health: OK}
		for _, w := range snap.Workloads {
			if w.Namespace == n.Name {
				nv.Workloads++
				nv.Health = Worst(nv.Health, w.Health)
			}
		}
		for _, p := range snap.Pods {
			if p.Namespace == n.Name {
				nv.Pods++
			}
		}
		snap.Namespaces = append(snap.Namespaces, nv)
	}
	slices.SortFunc(snap.Namespaces, func(a, b NamespaceView) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(snap.Nodes, func(a, b NodeState) int { return strings.Compare(a.Name, b.Name) })
	return snap, nil
}

func replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

func selectorOf(s *metav1.LabelSelector) map[string]string {
	if s == nil {
		return nil
	}
	return s.MatchLabels
}

func isOwnedByDeployment(r *appsv1.ReplicaSet) bool {
	for _, o := range r.OwnerReferences {
		if o.Kind == "Deployment" {
			return true
		}
	}
	return false
}

func jobView(j *batchv1.Job) WorkloadView {
	w := WorkloadView{Namespace: j.Namespace, Kind: "Job", Name: j.Name, Labels: j.Labels, Created: j.CreationTimestamp.Time}
	w.Desired = 1
	if j.Spec.Completions != nil {
		w.Desired = *j.Spec.Completions
	}
	w.Ready = j.Status.Succeeded + j.Status.Active
	w.Available = j.Status.Succeeded
	for _, c := range j.Status.Conditions {
		if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
			w.Ready = 0
		}
		if c.Type == batchv1.JobComplete && c.Status == corev1.ConditionTrue {
			w.Ready = w.Desired
		}
	}
	return w
}

func nodeState(n *corev1.Node) NodeState {
	ns := NodeState{Node: Node{Name: n.Name, Labels: n.Labels, Created: n.CreationTimestamp.Time,
		Zone: n.Labels["topology.kubernetes.io/zone"]}, Unschedulable: n.Spec.Unschedulable,
		Region: n.Labels["topology.kubernetes.io/region"], Health: Critical}
	for _, c := range n.Status.Conditions {
		switch {
		case c.Type == corev1.NodeReady:
			ns.Ready = c.Status == corev1.ConditionTrue
		case c.Status == corev1.ConditionTrue:
			ns.Pressure = append(ns.Pressure, string(c.Type))
		}
	}
	if q, ok := n.Status.Capacity[corev1.ResourceCPU]; ok {
		ns.CPUCores = q.AsApproximateFloat64()
	}
	if q, ok := n.Status.Capacity[corev1.ResourceMemory]; ok {
		ns.MemoryBytes = q.Value()
	}
	switch {
	case !ns.Ready:
		ns.Health = Critical
	case len(ns.Pressure) > 0 || ns.Unschedulable:
		ns.Health = Warn
	default:
		ns.Health = OK
	}
	return ns
}

// Waiting reasons that mean the container will not come up by itself.
var badWaiting = map[string]bool{
	"CrashLoopBackOff": true, "ImagePullBackOff": true, "ErrImagePull": true, "InvalidImageName": true,
	"CreateContainerConfigError": true, "CreateContainerError": true, "RunContainerError": true,
}

func podView(p *corev1.Pod, zr [2]string) PodView {
	pv := PodView{Namespace: p.Namespace, Name: p.Name, UID: string(p.UID), Node: p.Spec.NodeName,
		Phase: string(p.Status.Phase), IP: p.Status.PodIP, Labels: p.Labels, Created: p.CreationTimestamp.Time}
	pv.Workload, pv.WorkloadKind = Workload(p)
	statuses := map[string]corev1.ContainerStatus{}
	for _, cs := range p.Status.ContainerStatuses {
		statuses[cs.Name] = cs
	}
	status := pv.Phase
	if p.Status.Reason != "" {
		status = p.Status.Reason
	}
	health := OK
	for _, c := range p.Spec.Containers {
		cv := ContainerView{Namespace: p.Namespace, Pod: p.Name, Name: c.Name, Node: p.Spec.NodeName,
			Workload: pv.Workload, WorkloadKind: pv.WorkloadKind, Image: c.Image, State: "unknown",
			Zone: zr[0], Region: zr[1], Health: Unknown}
		if cs, ok := statuses[c.Name]; ok {
			cv.Ready, cv.Restarts, cv.ImageID, cv.ContainerID = cs.Ready, cs.RestartCount, cs.ImageID, cs.ContainerID
			switch {
			case cs.State.Running != nil:
				cv.State = "running"
				t := cs.State.Running.StartedAt.Time
				cv.StartedAt = &t
				cv.Health = OK
				if !cs.Ready {
					cv.Health = Warn
				}
			case cs.State.Waiting != nil:
				cv.State, cv.Reason = "waiting", cs.State.Waiting.Reason
				cv.Health = Warn
				if badWaiting[cv.Reason] {
					cv.Health = Critical
				}
				if cv.Reason != "" {
					status = cv.Reason
				}
			case cs.State.Terminated != nil:
				cv.State, cv.Reason = "terminated", cs.State.Terminated.Reason
				cv.Health = OK
				if cs.State.Terminated.ExitCode != 0 {
					cv.Health = Critical
				}
				if cv.Reason != "" {
					status = cv.Reason
				}
			}
			pv.Restarts += cs.RestartCount
			if cs.Ready {
				pv.ReadyCount++
			}
		}
		health = Worst(health, cv.Health)
		pv.Containers = append(pv.Containers, cv)
	}
	switch corev1.PodPhase(pv.Phase) {
	case corev1.PodSucceeded:
		health = OK
		status = "Completed"
	case corev1.PodFailed:
		health = Critical
	case corev1.PodPending:
		health = Worst(Warn, health)
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason != "" {
				status = c.Reason // Unschedulable
			}
		}
	case corev1.PodUnknown, "":
		health = Worst(Unknown, health)
	}
	if p.DeletionTimestamp != nil {
		status = "Terminating"
		health = Worst(health, Warn)
	}
	pv.Status, pv.Health = status, health
	return pv
}
