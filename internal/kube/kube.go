// Package kube watches the Kubernetes API with client-go informers and keeps
// an inventory of nodes and pods for the server and the agent.
package kube

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	listersv1 "k8s.io/client-go/listers/core/v1"
	netlisters "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

// Config returns a REST config from a kubeconfig path, or the in-cluster
// config when the path is empty and vigil runs in a pod. It returns nil, nil
// when neither is available: vigil then runs without Kubernetes metadata.
func Config(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("load kubeconfig %s: %w", kubeconfig, err)
		}
		return cfg, nil
	}
	if os.Getenv("KUBERNETES_SERVICE_HOST") == "" {
		return nil, nil
	}
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return nil, fmt.Errorf("in-cluster config: %w", err)
	}
	return cfg, nil
}

// Inventory caches the cluster's objects with one shared informer factory, so
// every consumer in a process (API, kube-state metrics, events) shares one watch
// per kind. The agent's inventory watches only its own node's pods.
type Inventory struct {
	factory informers.SharedInformerFactory
	client  kubernetes.Interface
	meta    metadatainformer.SharedInformerFactory // objects followed by metadata only (secrets, config maps)
	nodes   listersv1.NodeLister
	pods    listersv1.PodLister
	synced  []cache.InformerSynced
	log     *slog.Logger

	// Cluster-wide listers; nil in a node-scoped inventory.
	Namespaces   listersv1.NamespaceLister
	Services     listersv1.ServiceLister
	PVCs         listersv1.PersistentVolumeClaimLister
	Deployments  appslisters.DeploymentLister
	StatefulSets appslisters.StatefulSetLister
	DaemonSets   appslisters.DaemonSetLister
	ReplicaSets  appslisters.ReplicaSetLister
	Jobs         batchlisters.JobLister
	CronJobs     batchlisters.CronJobLister
	Ingresses    netlisters.IngressLister
}

// NewInventory builds informers. With nodeName set only that node's pods are
// watched (the agent on a DaemonSet node); otherwise the whole cluster: nodes,
// namespaces, pods, workloads, services, ingresses and PVCs.
func NewInventory(cfg *rest.Config, nodeName string, log *slog.Logger) (*Inventory, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	inv, err := NewInventoryForClient(cs, nodeName, log)
	if err != nil {
		return nil, err
	}
	if nodeName == "" {
		mc, err := metadata.NewForConfig(cfg)
		if err != nil {
			return nil, fmt.Errorf("kubernetes metadata client: %w", err)
		}
		inv.meta = metadatainformer.NewSharedInformerFactory(mc, 10*time.Minute)
	}
	return inv, nil
}

// NewInventoryForClient is NewInventory with a ready client.
func NewInventoryForClient(cs kubernetes.Interface, nodeName string, log *slog.Logger) (*Inventory, error) {
	var opts []informers.SharedInformerOption
	if nodeName != "" {
		sel := fields.OneTermEqualSelector("spec.nodeName", nodeName).String()
		opts = append(opts, informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = sel }))
	}
	f := informers.NewSharedInformerFactoryWithOptions(cs, 10*time.Minute, opts...)
	inv := &Inventory{factory: f, client: cs, log: log}
	podInf := f.Core().V1().Pods()
	inv.pods = podInf.Lister()
	inv.synced = append(inv.synced, podInf.Informer().HasSynced)
	if err := podInf.Informer().AddIndexers(cache.Indexers{uidIndex: func(obj any) ([]string, error) {
		if p, ok := obj.(*corev1.Pod); ok {
			return []string{string(p.UID)}, nil
		}
		return nil, nil
	}}); err != nil {
		return nil, fmt.Errorf("pod uid index: %w", err)
	}
	if nodeName != "" {
		return inv, nil
	}
	add := func(i cache.SharedIndexInformer) { inv.synced = append(inv.synced, i.HasSynced) }
	core, apps, batch := f.Core().V1(), f.Apps().V1(), f.Batch().V1()
	inv.nodes = core.Nodes().Lister()
	add(core.Nodes().Informer())
	inv.Namespaces = core.Namespaces().Lister()
	add(core.Namespaces().Informer())
	inv.Services = core.Services().Lister()
	add(core.Services().Informer())
	inv.PVCs = core.PersistentVolumeClaims().Lister()
	add(core.PersistentVolumeClaims().Informer())
	inv.Deployments = apps.Deployments().Lister()
	add(apps.Deployments().Informer())
	inv.StatefulSets = apps.StatefulSets().Lister()
	add(apps.StatefulSets().Informer())
	inv.DaemonSets = apps.DaemonSets().Lister()
	add(apps.DaemonSets().Informer())
	inv.ReplicaSets = apps.ReplicaSets().Lister()
	add(apps.ReplicaSets().Informer())
	inv.Jobs = batch.Jobs().Lister()
	add(batch.Jobs().Informer())
	inv.CronJobs = batch.CronJobs().Lister()
	add(batch.CronJobs().Informer())
	inv.Ingresses = f.Networking().V1().Ingresses().Lister()
	add(f.Networking().V1().Ingresses().Informer())
	return inv, nil
}

// Factory is the shared informer factory: other components register their
// informers on it (before or after Start; Start again to run late ones).
func (inv *Inventory) Factory() informers.SharedInformerFactory { return inv.factory }

// MetaFactory is the shared metadata-only informer factory (nil in a
// node-scoped inventory or one built from a bare client).
func (inv *Inventory) MetaFactory() metadatainformer.SharedInformerFactory { return inv.meta }

// Client is the clientset the informers use.
func (inv *Inventory) Client() kubernetes.Interface { return inv.client }

// Synced reports whether every informer holds its first full listing.
func (inv *Inventory) Synced() bool {
	for _, s := range inv.synced {
		if !s() {
			return false
		}
	}
	return true
}

const uidIndex = "uid"

// Start runs the informers until ctx ends; it does not wait for them. It may be
// called again to start informers registered after the first call.
func (inv *Inventory) Start(ctx context.Context) {
	inv.factory.Start(ctx.Done())
	if inv.meta != nil {
		inv.meta.Start(ctx.Done())
	}
}

// WaitSynced waits until the caches hold the first full listing, or ctx ends.
func (inv *Inventory) WaitSynced(ctx context.Context) error {
	if !cache.WaitForCacheSync(ctx.Done(), inv.synced...) {
		return fmt.Errorf("kubernetes caches did not sync: %w", ctx.Err())
	}
	return nil
}

// Shutdown stops the informers and waits for them.
func (inv *Inventory) Shutdown() {
	inv.factory.Shutdown()
	if inv.meta != nil {
		inv.meta.Shutdown()
	}
}

// Node is a node as the UI and API show it.
type Node struct {
	Name        string            `json:"name"`
	Labels      map[string]string `json:"labels"`
	Ready       bool              `json:"ready"`
	CPUCores    float64           `json:"cpuCores"`
	MemoryBytes int64             `json:"memoryBytes"`
	Zone        string            `json:"zone,omitempty"`
	Created     time.Time         `json:"created"`
}

// Nodes lists the cluster's nodes.
func (inv *Inventory) Nodes() []Node {
	if inv.nodes == nil {
		return nil
	}
	list, err := inv.nodes.List(labels.Everything())
	if err != nil {
		return nil
	}
	out := make([]Node, 0, len(list))
	for _, n := range list {
		nd := Node{Name: n.Name, Labels: n.Labels, Created: n.CreationTimestamp.Time,
			Zone: n.Labels["topology.kubernetes.io/zone"]}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				nd.Ready = c.Status == corev1.ConditionTrue
			}
		}
		if q, ok := n.Status.Capacity[corev1.ResourceCPU]; ok {
			nd.CPUCores = q.AsApproximateFloat64()
		}
		if q, ok := n.Status.Capacity[corev1.ResourceMemory]; ok {
			nd.MemoryBytes = q.Value()
		}
		out = append(out, nd)
	}
	slices.SortFunc(out, func(a, b Node) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Pod is a pod as the UI and API show it.
type Pod struct {
	Namespace  string            `json:"namespace"`
	Name       string            `json:"name"`
	UID        string            `json:"uid"`
	Node       string            `json:"node"`
	Phase      string            `json:"phase"`
	Labels     map[string]string `json:"labels"`
	Containers []string          `json:"containers"`
	Workload   string            `json:"workload,omitempty"`
	Kind       string            `json:"workloadKind,omitempty"`
}

func toPod(p *corev1.Pod) Pod {
	out := Pod{Namespace: p.Namespace, Name: p.Name, UID: string(p.UID), Node: p.Spec.NodeName,
		Phase: string(p.Status.Phase), Labels: p.Labels}
	for _, c := range p.Spec.Containers {
		out.Containers = append(out.Containers, c.Name)
	}
	out.Workload, out.Kind = Workload(p)
	return out
}

// Workload names the controller that owns a pod, folding a ReplicaSet into its
// Deployment by the pod-template-hash naming convention.
func Workload(p *corev1.Pod) (name, kind string) {
	for _, o := range p.OwnerReferences {
		if o.Controller == nil || !*o.Controller {
			continue
		}
		if o.Kind == "ReplicaSet" {
			if h := p.Labels["pod-template-hash"]; h != "" {
				if dep, ok := strings.CutSuffix(o.Name, "-"+h); ok {
					return dep, "Deployment"
				}
			}
		}
		return o.Name, o.Kind
	}
	return "", ""
}

// Pods lists pods, in one namespace when ns is set.
func (inv *Inventory) Pods(ns string) []Pod {
	var list []*corev1.Pod
	var err error
	if ns != "" {
		list, err = inv.pods.Pods(ns).List(labels.Everything())
	} else {
		list, err = inv.pods.List(labels.Everything())
	}
	if err != nil {
		return nil
	}
	out := make([]Pod, 0, len(list))
	for _, p := range list {
		out = append(out, toPod(p))
	}
	slices.SortFunc(out, func(a, b Pod) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	return out
}

// PodByUID finds a pod by its UID.
func (inv *Inventory) PodByUID(uid string) (Pod, bool) {
	objs, err := inv.factory.Core().V1().Pods().Informer().GetIndexer().ByIndex(uidIndex, uid)
	if err != nil || len(objs) == 0 {
		return Pod{}, false
	}
	p, ok := objs[0].(*corev1.Pod)
	if !ok {
		return Pod{}, false
	}
	return toPod(p), true
}
