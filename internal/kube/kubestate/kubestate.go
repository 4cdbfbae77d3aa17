// Package kubestate turns the state of Kubernetes objects (nodes, pods,
// deployments, namespaces) into time series named as kube-state-metrics names
// them, so dashboards and alerts written for kube-state-metrics work on vigil's
// metrics store without running kube-state-metrics.
package kubestate

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	appslisters "k8s.io/client-go/listers/apps/v1"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	netlisters "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/tools/cache"

	"vigil/internal/store/metrics"
)

// Writer is the part of a metrics store that Run needs.
type Writer interface {
	Write(ctx context.Context, series []metrics.Series) (metrics.WriteStats, error)
}

// Collector renders the objects cached by a shared informer factory as
// kube-state-metrics series.
type Collector struct {
	factory      informers.SharedInformerFactory
	nodes        corelisters.NodeLister
	pods         corelisters.PodLister
	namespaces   corelisters.NamespaceLister
	services     corelisters.ServiceLister
	pvcs         corelisters.PersistentVolumeClaimLister
	deploys      appslisters.DeploymentLister
	statefulsets appslisters.StatefulSetLister
	daemonsets   appslisters.DaemonSetLister
	replicasets  appslisters.ReplicaSetLister
	jobs         batchlisters.JobLister
	cronjobs     batchlisters.CronJobLister
	ingresses    netlisters.IngressLister
	synced       []cache.InformerSynced

	// Log receives write errors from Run; nil means slog.Default().
	Log *slog.Logger
}

// New registers its informers on f (shared with the server's inventory, so
// each kind is watched once) without starting them.
func New(f informers.SharedInformerFactory) *Collector {
	c := &Collector{factory: f}
	core, apps, batch := f.Core().V1(), f.Apps().V1(), f.Batch().V1()
	c.nodes, c.pods, c.namespaces = core.Nodes().Lister(), core.Pods().Lister(), core.Namespaces().Lister()
	c.services, c.pvcs = core.Services().Lister(), core.PersistentVolumeClaims().Lister()
	c.deploys, c.statefulsets = apps.Deployments().Lister(), apps.StatefulSets().Lister()
	c.daemonsets, c.replicasets = apps.DaemonSets().Lister(), apps.ReplicaSets().Lister()
	c.jobs, c.cronjobs = batch.Jobs().Lister(), batch.CronJobs().Lister()
	c.ingresses = f.Networking().V1().Ingresses().Lister()
	for _, inf := range []cache.SharedIndexInformer{
		core.Nodes().Informer(), core.Pods().Informer(), core.Namespaces().Informer(),
		core.Services().Informer(), core.PersistentVolumeClaims().Informer(),
		apps.Deployments().Informer(), apps.StatefulSets().Informer(), apps.DaemonSets().Informer(),
		apps.ReplicaSets().Informer(), batch.Jobs().Informer(), batch.CronJobs().Informer(),
		f.Networking().V1().Ingresses().Informer(),
	} {
		c.synced = append(c.synced, inf.HasSynced)
	}
	return c
}

// Start runs the informers until ctx ends; it does not wait for them.
func (c *Collector) Start(ctx context.Context) { c.factory.Start(ctx.Done()) }

// WaitSynced waits until the caches hold the first full listing, or ctx ends.
func (c *Collector) WaitSynced(ctx context.Context) error {
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return fmt.Errorf("kube-state caches did not sync: %w", ctx.Err())
	}
	return nil
}

// Shutdown waits for the informers to stop; they stop when the context given
// to Start ends.
func (c *Collector) Shutdown() { c.factory.Shutdown() }

// Run waits for the caches to sync (the factory's owner starts it), then
// writes Collect's output to store right away and every `every` until ctx
// ends. It returns nil when ctx ends after the caches synced, and an error
// when they never did. Write errors are logged and do not stop the loop.
func (c *Collector) Run(ctx context.Context, store Writer, every time.Duration) error {
	if every <= 0 {
		return fmt.Errorf("kubestate: interval must be positive, got %s", every)
	}
	if err := c.WaitSynced(ctx); err != nil {
		return err
	}
	log := c.Log
	if log == nil {
		log = slog.Default()
	}
	write := func(now time.Time) {
		series := c.Collect(now)
		st, err := store.Write(ctx, series)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("kube-state metrics write failed", "series", len(series), "err", err)
			}
			return
		}
		if st.Rejected > 0 {
			log.Debug("kube-state samples rejected", "rejected", st.Rejected, "stored", st.Samples)
		}
	}
	write(time.Now())
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			write(now)
		}
	}
}

// Collect renders the cached objects as one sample per series at now.
// Series are returned in a stable order: by object kind, then object name.
func (c *Collector) Collect(now time.Time) []metrics.Series {
	e := emitter{t: now.UnixMilli()}
	if list, err := c.nodes.List(k8slabels.Everything()); err == nil {
		sortByKey(list, func(n *corev1.Node) string { return n.Name })
		for _, n := range list {
			e.node(n)
		}
	}
	if list, err := c.namespaces.List(k8slabels.Everything()); err == nil {
		sortByKey(list, func(n *corev1.Namespace) string { return n.Name })
		for _, ns := range list {
			e.namespace(ns)
		}
	}
	if list, err := c.pods.List(k8slabels.Everything()); err == nil {
		sortByKey(list, func(p *corev1.Pod) string { return p.Namespace + "/" + p.Name })
		for _, p := range list {
			e.pod(p)
		}
	}
	collect(c.deploys.List, e.deployment)
	collect(c.statefulsets.List, e.statefulset)
	collect(c.daemonsets.List, e.daemonset)
	collect(c.replicasets.List, e.replicaset)
	collect(c.jobs.List, e.job)
	collect(c.cronjobs.List, e.cronjob)
	collect(c.services.List, e.service)
	collect(c.ingresses.List, e.ingress)
	collect(c.pvcs.List, e.pvc)
	return e.out
}

// collect lists one kind and emits each object, in namespace/name order.
func collect[T metav1.Object](list func(k8slabels.Selector) ([]T, error), emit func(T)) {
	objs, err := list(k8slabels.Everything())
	if err != nil {
		return
	}
	sortByKey(objs, func(o T) string { return o.GetNamespace() + "/" + o.GetName() })
	for _, o := range objs {
		emit(o)
	}
}

func sortByKey[T any](s []T, key func(T) string) {
	sort.SliceStable(s, func(i, j int) bool { return key(s[i]) < key(s[j]) })
}

// emitter accumulates series that share one timestamp.
type emitter struct {
	t   int64
	out []metrics.Series
	b   labels.ScratchBuilder
}

// add appends a series; kv are label name/value pairs. Labels with empty
// values are left out, as Prometheus treats them as absent.
func (e *emitter) add(name string, v float64, kv ...string) {
	e.b.Reset()
	e.b.Add(labels.MetricName, name)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			e.b.Add(kv[i], kv[i+1])
		}
	}
	e.b.Sort()
	e.out = append(e.out, metrics.Series{
		Labels:  e.b.Labels(),
		Samples: []metrics.Sample{{T: e.t, V: v}},
	})
}

func boolVal(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (e *emitter) node(n *corev1.Node) {
	var internalIP string
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			internalIP = a.Address
			break
		}
	}
	info := n.Status.NodeInfo
	e.add("kube_node_info", 1,
		"node", n.Name,
		"kernel_version", info.KernelVersion,
		"os_image", info.OSImage,
		"container_runtime_version", info.ContainerRuntimeVersion,
		"kubelet_version", info.KubeletVersion,
		"kubeproxy_version", info.KubeProxyVersion, //nolint:staticcheck // still reported by some nodes
		"provider_id", n.Spec.ProviderID,
		"pod_cidr", n.Spec.PodCIDR,
		"internal_ip", internalIP,
		"system_uuid", info.SystemUUID,
	)
	for _, cond := range n.Status.Conditions {
		for _, st := range []corev1.ConditionStatus{corev1.ConditionTrue, corev1.ConditionFalse, corev1.ConditionUnknown} {
			e.add("kube_node_status_condition", boolVal(cond.Status == st),
				"node", n.Name, "condition", string(cond.Type), "status", strings.ToLower(string(st)))
		}
	}
	for _, name := range sortedResourceNames(n.Status.Capacity) {
		q := n.Status.Capacity[name]
		res, unit, v := resourceValue(name, q.AsApproximateFloat64(), q.MilliValue())
		e.add("kube_node_status_capacity", v, "node", n.Name, "resource", res, "unit", unit)
	}
	for _, name := range sortedResourceNames(n.Status.Allocatable) {
		q := n.Status.Allocatable[name]
		res, unit, v := resourceValue(name, q.AsApproximateFloat64(), q.MilliValue())
		e.add("kube_node_status_allocatable", v, "node", n.Name, "resource", res, "unit", unit)
	}
	e.add("kube_node_spec_unschedulable", boolVal(n.Spec.Unschedulable), "node", n.Name)
	kv := []string{"node", n.Name}
	names, values := LabelPairs(n.Labels)
	for i := range names {
		kv = append(kv, names[i], values[i])
	}
	e.add("kube_node_labels", 1, kv...)
}

func sortedResourceNames(l corev1.ResourceList) []corev1.ResourceName {
	names := make([]corev1.ResourceName, 0, len(l))
	for k := range l {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return names[i] < names[j] })
	return names
}

// resourceValue maps a resource to kube-state-metrics' resource and unit
// label values: cpu in cores, memory, storage and hugepages in bytes, anything
// else (pods, extended resources) as a plain integer.
func resourceValue(name corev1.ResourceName, approx float64, milli int64) (res, unit string, v float64) {
	res = SanitizeLabelName(string(name))
	switch {
	case name == corev1.ResourceCPU:
		return res, "core", float64(milli) / 1000
	case name == corev1.ResourceMemory, name == corev1.ResourceStorage, name == corev1.ResourceEphemeralStorage,
		strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix):
		return res, "byte", approx
	default:
		return res, "integer", approx
	}
}

var namespacePhases = []corev1.NamespacePhase{corev1.NamespaceActive, corev1.NamespaceTerminating}

func (e *emitter) namespace(ns *corev1.Namespace) {
	for _, ph := range namespacePhases {
		e.add("kube_namespace_status_phase", boolVal(ns.Status.Phase == ph),
			"namespace", ns.Name, "phase", string(ph))
	}
}

var podPhases = []corev1.PodPhase{corev1.PodPending, corev1.PodSucceeded, corev1.PodFailed, corev1.PodUnknown, corev1.PodRunning}

func (e *emitter) pod(p *corev1.Pod) {
	ns, name, uid := p.Namespace, p.Name, string(p.UID)
	kind, owner := "<none>", "<none>"
	if ref := metav1.GetControllerOf(p); ref != nil {
		kind, owner = ref.Kind, ref.Name
	} else if len(p.OwnerReferences) > 0 {
		kind, owner = p.OwnerReferences[0].Kind, p.OwnerReferences[0].Name
	}
	e.add("kube_pod_info", 1,
		"namespace", ns, "pod", name, "uid", uid,
		"node", p.Spec.NodeName,
		"host_ip", p.Status.HostIP,
		"pod_ip", p.Status.PodIP,
		"created_by_kind", kind,
		"created_by_name", owner,
		"priority_class", p.Spec.PriorityClassName,
		"host_network", strconv.FormatBool(p.Spec.HostNetwork),
	)
	if p.Status.Phase != "" {
		for _, ph := range podPhases {
			e.add("kube_pod_status_phase", boolVal(p.Status.Phase == ph),
				"namespace", ns, "pod", name, "uid", uid, "phase", string(ph))
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		e.add("kube_pod_container_status_restarts_total", float64(cs.RestartCount),
			"namespace", ns, "pod", name, "uid", uid, "container", cs.Name)
		e.add("kube_pod_container_status_ready", boolVal(cs.Ready),
			"namespace", ns, "pod", name, "uid", uid, "container", cs.Name)
	}
	e.podContainers(p)
	kv := []string{"namespace", ns, "pod", name, "uid", uid}
	names, values := LabelPairs(p.Labels)
	for i := range names {
		kv = append(kv, names[i], values[i])
	}
	e.add("kube_pod_labels", 1, kv...)
}

func (e *emitter) deployment(d *appsv1.Deployment) {
	ns, name := d.Namespace, d.Name
	replicas := int32(1) // the API server's default when spec.replicas is unset
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}
	e.add("kube_deployment_spec_replicas", float64(replicas), "namespace", ns, "deployment", name)
	e.add("kube_deployment_status_replicas_available", float64(d.Status.AvailableReplicas), "namespace", ns, "deployment", name)
	e.add("kube_deployment_status_replicas_updated", float64(d.Status.UpdatedReplicas), "namespace", ns, "deployment", name)
	e.add("kube_deployment_status_replicas", float64(d.Status.Replicas), "namespace", ns, "deployment", name)
	e.add("kube_deployment_status_replicas_ready", float64(d.Status.ReadyReplicas), "namespace", ns, "deployment", name)
	e.add("kube_deployment_status_replicas_unavailable", float64(d.Status.UnavailableReplicas), "namespace", ns, "deployment", name)
}

var invalidLabelChars = regexp.MustCompile(`[^a-zA-Z0-9_]`)

// SanitizeLabelName turns a Kubernetes label key or resource name into a
// valid Prometheus label name fragment: every character other than ASCII
// letters, digits and '_' becomes '_' ("app.kubernetes.io/name" ->
// "app_kubernetes_io_name").
func SanitizeLabelName(s string) string {
	return invalidLabelChars.ReplaceAllString(s, "_")
}

// LabelPairs maps Kubernetes labels to Prometheus label names "label_<key>"
// (key sanitized) and their values, sorted by original key. When several
// keys sanitize to the same name, each of them gets a "_conflict<N>" suffix,
// N counting from 1 in key order, so no value is lost.
func LabelPairs(m map[string]string) (names, values []string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	count := map[string]int{}
	for _, k := range keys {
		count["label_"+SanitizeLabelName(k)]++
	}
	seen := map[string]int{}
	for _, k := range keys {
		n := "label_" + SanitizeLabelName(k)
		if count[n] > 1 {
			seen[n]++
			n = fmt.Sprintf("%s_conflict%d", n, seen[n])
		}
		names = append(names, n)
		values = append(values, m[k])
	}
	return names, values
}
