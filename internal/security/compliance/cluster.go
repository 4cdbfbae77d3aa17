package compliance

import (
	"context"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// ManifestOf converts a typed object; listed objects carry no kind, so it is given.
func ManifestOf(obj runtime.Object, kind string) (Manifest, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return Manifest{}, fmt.Errorf("convert %s: %w", kind, err)
	}
	m["kind"] = kind
	if meta, ok := m["metadata"].(map[string]any); ok {
		delete(meta, "managedFields") // large and never checked
	}
	return Manifest{Object: m}, nil
}

// ManifestsOf converts many objects of one kind on every core, leaving out
// those owned by a workload (a Deployment's ReplicaSets and pods), which
// KubeObjects would skip anyway: their owner is evaluated instead.
func ManifestsOf(objs []runtime.Object, kind string) ([]Manifest, error) {
	out := make([]Manifest, len(objs))
	skip := make([]bool, len(objs))
	err := parallel(len(objs), func(i int) error {
		if mo, ok := objs[i].(metav1.Object); ok && ownedByWorkloadRefs(mo.GetOwnerReferences()) {
			skip[i] = true
			return nil
		}
		var err error
		out[i], err = ManifestOf(objs[i], kind)
		return err
	})
	if err != nil {
		return nil, err
	}
	kept := out[:0]
	for i := range out {
		if !skip[i] {
			kept = append(kept, out[i])
		}
	}
	return kept, nil
}

func ownedByWorkloadRefs(refs []metav1.OwnerReference) bool {
	for _, r := range refs {
		if r.Controller != nil && *r.Controller && IsWorkloadKind(r.Kind) {
			return true
		}
	}
	return false
}

// listFunc lists one kind; namespace "" means all namespaces.
type listFunc func(ctx context.Context, cs kubernetes.Interface, ns string) ([]runtime.Object, error)

func items[T any, PT interface {
	*T
	runtime.Object
}](list []T) []runtime.Object {
	out := make([]runtime.Object, len(list))
	for i := range list {
		out[i] = PT(&list[i])
	}
	return out
}

// clusterKinds are the kinds the controls look at, with how to list each.
var clusterKinds = []struct {
	kind       string
	namespaced bool
	list       listFunc
}{
	{"Pod", true, func(ctx context.Context, cs kubernetes.Interface, ns string) ([]runtime.Object, error) {
		l, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		return items(l.Items), nil
	}},
	{"Deployment", true, func(ctx context.Context, cs kubernetes.Interface, ns string) ([]runtime.Object, error) {
		l, err := cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		return items(l.Items), nil
	}},
	{"StatefulSet", true, func(ctx context.Context, cs kubernetes.Interface, ns string) ([]runtime.Object, error) {
		l, err := cs.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		return items(l.Items), nil
	}},
	{"DaemonSet", true, func(ctx context.Context, cs kubernetes.Interface, ns string) ([]runtime.Object, error) {
		l, err := cs.AppsV1().DaemonSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		return items(l.Items), nil
	}},
	{"ReplicaSet", true, func(ctx context.Context, cs kubernetes.Interface, ns string) ([]runtime.Object, error) {
		l, err := cs.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		return items(l.Items), nil
	}},
	{"Job", true, func(ctx context.Context, cs kubernetes.Interface, ns string) ([]runtime.Object, error) {
		l, err := cs.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		return items(l.Items), nil
	}},
	{"CronJob", true, func(ctx context.Context, cs kubernetes.Interface, ns string) ([]runtime.Object, error) {
		l, err := cs.BatchV1().CronJobs(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		return items(l.Items), nil
	}},
	{"ServiceAccount", true, func(ctx context.Context, cs kubernetes.Interface, ns string) ([]runtime.Object, error) {
		l, err := cs.CoreV1().ServiceAccounts(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		return items(l.Items), nil
	}},
	{"NetworkPolicy", true, func(ctx context.Context, cs kubernetes.Interface, ns string) ([]runtime.Object, error) {
		l, err := cs.NetworkingV1().NetworkPolicies(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		return items(l.Items), nil
	}},
	{"RoleBinding", true, func(ctx context.Context, cs kubernetes.Interface, ns string) ([]runtime.Object, error) {
		l, err := cs.RbacV1().RoleBindings(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		return items(l.Items), nil
	}},
	{"Role", true, func(ctx context.Context, cs kubernetes.Interface, ns string) ([]runtime.Object, error) {
		l, err := cs.RbacV1().Roles(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		return items(l.Items), nil
	}},
	{"ClusterRoleBinding", false, func(ctx context.Context, cs kubernetes.Interface, _ string) ([]runtime.Object, error) {
		l, err := cs.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		return items(l.Items), nil
	}},
	{"ClusterRole", false, func(ctx context.Context, cs kubernetes.Interface, _ string) ([]runtime.Object, error) {
		l, err := cs.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		return items(l.Items), nil
	}},
	{"Namespace", false, func(ctx context.Context, cs kubernetes.Interface, _ string) ([]runtime.Object, error) {
		l, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		return items(l.Items), nil
	}},
}

// ListCluster reads the objects the controls need straight from the API
// server (for the CLI; the server keeps informers). With namespace set,
// cluster-scoped bindings are still read, as they grant roles in it.
func ListCluster(ctx context.Context, cs kubernetes.Interface, namespace string) ([]Manifest, error) {
	var out []Manifest
	for _, k := range clusterKinds {
		objs, err := k.list(ctx, cs, namespace)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", k.kind, err)
		}
		if !k.namespaced && k.kind == "Namespace" && namespace != "" {
			objs = slices.DeleteFunc(objs, func(o runtime.Object) bool {
				mo, ok := o.(metav1.Object)
				return ok && mo.GetName() != namespace
			})
		}
		ms, err := ManifestsOf(objs, k.kind)
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	return out, nil
}

// Informers registers (on a shared factory) the informers the controls need
// and lists their caches on demand.
type Informers struct {
	listers []struct {
		kind string
		inf  cache.SharedIndexInformer
	}
}

// NewInformers registers informers for every kind the controls look at.
func NewInformers(f informers.SharedInformerFactory) *Informers {
	in := &Informers{}
	add := func(kind string, i cache.SharedIndexInformer) {
		in.listers = append(in.listers, struct {
			kind string
			inf  cache.SharedIndexInformer
		}{kind, i})
	}
	core, apps, batch, rbac := f.Core().V1(), f.Apps().V1(), f.Batch().V1(), f.Rbac().V1()
	add("Pod", core.Pods().Informer())
	add("Deployment", apps.Deployments().Informer())
	add("StatefulSet", apps.StatefulSets().Informer())
	add("DaemonSet", apps.DaemonSets().Informer())
	add("ReplicaSet", apps.ReplicaSets().Informer())
	add("Job", batch.Jobs().Informer())
	add("CronJob", batch.CronJobs().Informer())
	add("ServiceAccount", core.ServiceAccounts().Informer())
	add("NetworkPolicy", f.Networking().V1().NetworkPolicies().Informer())
	add("RoleBinding", rbac.RoleBindings().Informer())
	add("Role", rbac.Roles().Informer())
	add("ClusterRoleBinding", rbac.ClusterRoleBindings().Informer())
	add("ClusterRole", rbac.ClusterRoles().Informer())
	add("Namespace", core.Namespaces().Informer())
	return in
}

// Synced tells whether every cache holds its first listing.
func (in *Informers) Synced() bool {
	for _, l := range in.listers {
		if !l.inf.HasSynced() {
			return false
		}
	}
	return true
}

// Manifests converts the cached objects.
func (in *Informers) Manifests() ([]Manifest, error) {
	var out []Manifest
	for _, l := range in.listers {
		var objs []runtime.Object
		for _, o := range l.inf.GetStore().List() {
			if ro, ok := o.(runtime.Object); ok {
				objs = append(objs, ro)
			}
		}
		ms, err := ManifestsOf(objs, l.kind)
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	return out, nil
}
