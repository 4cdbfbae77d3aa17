package processes

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// Owner is the container a process runs in.
type Owner struct {
	ContainerID string
	Namespace   string
	Pod         string
	Container   string
}

// Resolver maps container ids and pod UIDs (from cgroup paths) to pods.
type Resolver interface {
	// Lookup returns the owner of a container id, or failing that of a pod UID
	// (then without the container name).
	Lookup(containerID, podUID string) (Owner, bool)
}

// PodIndex resolves container ids against the statuses of one node's pods,
// kept current by an informer.
type PodIndex struct {
	factory informers.SharedInformerFactory
	inf     cache.SharedIndexInformer
}

const (
	byContainerID = "containerID"
	byUID         = "uid"
)

// NewPodIndex watches the pods of node.
func NewPodIndex(cfg *rest.Config, node string) (*PodIndex, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return newPodIndex(cs, node)
}

func newPodIndex(cs kubernetes.Interface, node string) (*PodIndex, error) {
	sel := fields.OneTermEqualSelector("spec.nodeName", node).String()
	f := informers.NewSharedInformerFactoryWithOptions(cs, 10*time.Minute,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = sel }))
	inf := f.Core().V1().Pods().Informer()
	if err := inf.AddIndexers(cache.Indexers{
		byContainerID: func(obj any) ([]string, error) {
			p, ok := obj.(*corev1.Pod)
			if !ok {
				return nil, nil
			}
			var ids []string
			for _, st := range allStatuses(p) {
				if id := ContainerIDFromStatus(st.ContainerID); id != "" {
					ids = append(ids, id)
				}
			}
			return ids, nil
		},
		byUID: func(obj any) ([]string, error) {
			if p, ok := obj.(*corev1.Pod); ok {
				return []string{string(p.UID)}, nil
			}
			return nil, nil
		},
	}); err != nil {
		return nil, fmt.Errorf("pod indexes: %w", err)
	}
	return &PodIndex{factory: f, inf: inf}, nil
}

func allStatuses(p *corev1.Pod) []corev1.ContainerStatus {
	out := make([]corev1.ContainerStatus, 0, len(p.Status.InitContainerStatuses)+len(p.Status.ContainerStatuses)+len(p.Status.EphemeralContainerStatuses))
	out = append(out, p.Status.InitContainerStatuses...)
	out = append(out, p.Status.ContainerStatuses...)
	return append(out, p.Status.EphemeralContainerStatuses...)
}

// Start runs the informer until ctx ends.
func (x *PodIndex) Start(ctx context.Context) { x.factory.Start(ctx.Done()) }

// WaitSynced waits for the first listing of pods, or ctx's end.
func (x *PodIndex) WaitSynced(ctx context.Context) bool {
	return cache.WaitForCacheSync(ctx.Done(), x.inf.HasSynced)
}

// Shutdown stops the informer.
func (x *PodIndex) Shutdown() { x.factory.Shutdown() }

// Lookup implements Resolver.
func (x *PodIndex) Lookup(containerID, podUID string) (Owner, bool) {
	if containerID != "" {
		if objs, err := x.inf.GetIndexer().ByIndex(byContainerID, containerID); err == nil && len(objs) > 0 {
			if p, ok := objs[0].(*corev1.Pod); ok {
				for _, st := range allStatuses(p) {
					if ContainerIDFromStatus(st.ContainerID) == containerID {
						return Owner{ContainerID: containerID, Namespace: p.Namespace, Pod: p.Name, Container: st.Name}, true
					}
				}
			}
		}
	}
	if podUID != "" {
		if objs, err := x.inf.GetIndexer().ByIndex(byUID, podUID); err == nil && len(objs) > 0 {
			if p, ok := objs[0].(*corev1.Pod); ok {
				return Owner{ContainerID: containerID, Namespace: p.Namespace, Pod: p.Name}, true
			}
		}
	}
	return Owner{}, false
}
