package kubestate

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	"vigil/internal/store/metrics"
	"vigil/test/cluster"
)

func TestSanitizeLabelName(t *testing.T) {
	for in, want := range map[string]string{
		"app":                    "app",
		"app.kubernetes.io/name": "app_kubernetes_io_name",
		"pod-template-hash":      "pod_template_hash",
		"nvidia.com/gpu":         "nvidia_com_gpu",
		"Under_score9":           "Under_score9",
		"ünï":                    "_n_",
	} {
		if got := SanitizeLabelName(in); got != want {
			t.Errorf("SanitizeLabelName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLabelPairsConflicts(t *testing.T) {
	names, values := LabelPairs(map[string]string{"a.b": "1", "a-b": "2", "c": "3"})
	got := fmt.Sprint(names, values)
	want := "[label_a_b_conflict1 label_a_b_conflict2 label_c] [2 1 3]"
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// find returns the value of the one series named name whose labels include
// all of match, and how many series matched.
func find(series []metrics.Series, name string, match ...string) (float64, int) {
	var v float64
	n := 0
next:
	for _, s := range series {
		if s.Labels.Get(labels.MetricName) != name {
			continue
		}
		for i := 0; i+1 < len(match); i += 2 {
			if s.Labels.Get(match[i]) != match[i+1] {
				continue next
			}
		}
		n++
		v = s.Samples[len(s.Samples)-1].V
	}
	return v, n
}

func TestCollectFake(t *testing.T) {
	replicas := int32(2)
	cs := fake.NewClientset(
		&corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: "n1"},
			Status: corev1.NodeStatus{
				Capacity: corev1.ResourceList{
					corev1.ResourceCPU:              resource.MustParse("1500m"),
					corev1.ResourceMemory:           resource.MustParse("1Gi"),
					corev1.ResourceEphemeralStorage: resource.MustParse("1Gi"),
				},
				Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown}},
			},
		},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}},
		&corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1", Labels: map[string]string{"app.kubernetes.io/name": "x"}},
			Spec:       corev1.PodSpec{NodeName: "n1"},
			Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{
				{Name: "c", RestartCount: 4, Ready: false},
			}},
		},
		&appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "d", Namespace: "ns"},
			Spec:       appsv1.DeploymentSpec{Replicas: &replicas},
			Status:     appsv1.DeploymentStatus{AvailableReplicas: 1, UpdatedReplicas: 2},
		},
	)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := New(informers.NewSharedInformerFactory(cs, 0))
	c.Start(ctx)
	defer func() { cancel(); c.Shutdown() }() // Shutdown waits for the informers to stop
	if err := c.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.UnixMilli(1_700_000_000_000)
	s := c.Collect(now)
	for _, x := range s {
		if x.Samples[0].T != now.UnixMilli() {
			t.Fatalf("timestamp %d", x.Samples[0].T)
		}
	}
	checks := []struct {
		name  string
		match []string
		want  float64
	}{
		{"kube_node_info", []string{"node", "n1"}, 1},
		{"kube_node_status_condition", []string{"node", "n1", "condition", "Ready", "status", "unknown"}, 1},
		{"kube_node_status_condition", []string{"node", "n1", "condition", "Ready", "status", "true"}, 0},
		{"kube_node_status_capacity", []string{"resource", "cpu", "unit", "core"}, 1.5},
		{"kube_node_status_capacity", []string{"resource", "memory", "unit", "byte"}, 1 << 30},
		{"kube_node_status_capacity", []string{"resource", "ephemeral_storage", "unit", "byte"}, 1 << 30},
		{"kube_namespace_status_phase", []string{"namespace", "ns", "phase", "Terminating"}, 1},
		{"kube_namespace_status_phase", []string{"namespace", "ns", "phase", "Active"}, 0},
		{"kube_pod_info", []string{"pod", "p", "uid", "u1", "node", "n1", "created_by_kind", "<none>"}, 1},
		{"kube_pod_status_phase", []string{"pod", "p", "phase", "Pending"}, 1},
		{"kube_pod_status_phase", []string{"pod", "p", "phase", "Running"}, 0},
		{"kube_pod_container_status_restarts_total", []string{"pod", "p", "container", "c"}, 4},
		{"kube_pod_container_status_ready", []string{"pod", "p", "container", "c"}, 0},
		{"kube_pod_labels", []string{"pod", "p", "label_app_kubernetes_io_name", "x"}, 1},
		{"kube_deployment_spec_replicas", []string{"deployment", "d"}, 2},
		{"kube_deployment_status_replicas_available", []string{"deployment", "d"}, 1},
		{"kube_deployment_status_replicas_updated", []string{"deployment", "d"}, 2},
	}
	for _, ch := range checks {
		v, n := find(s, ch.name, ch.match...)
		if n != 1 || v != ch.want {
			t.Errorf("%s%v: %d series, value %v; want 1 series, %v", ch.name, ch.match, n, v, ch.want)
		}
	}
	if _, n := find(s, "kube_pod_status_phase", "pod", "p"); n != 5 {
		t.Errorf("kube_pod_status_phase: %d series, want 5", n)
	}
	for _, x := range s {
		if _, dup := x.Labels.HasDuplicateLabelNames(); dup {
			t.Errorf("duplicate label names in %s", x.Labels)
		}
	}
}

// recorder is a Writer that keeps the last batch.
type recorder struct {
	mu     sync.Mutex
	last   []metrics.Series
	writes int
}

func (r *recorder) Write(_ context.Context, s []metrics.Series) (metrics.WriteStats, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last, r.writes = s, r.writes+1
	return metrics.WriteStats{Samples: len(s)}, nil
}

func (r *recorder) snapshot() ([]metrics.Series, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last, r.writes
}

func TestRunCluster(t *testing.T) {
	c := cluster.StartForTest(t, cluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const node, ns = "kwok-ks-0", "ks"
	if _, err := c.CreateFakeNode(ctx, node, nil); err != nil {
		t.Fatal(err)
	}
	cs := c.Clientset()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	replicas := int32(3)
	podLabels := map[string]string{"app": "web", "app.kubernetes.io/part-of": "shop"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{"kubernetes.io/hostname": node},
					Tolerations:  []corev1.Toleration{cluster.KwokToleration},
					Containers:   []corev1.Container{{Name: "nginx", Image: "nginx:1.27"}},
				},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	rec := &recorder{}
	kc := New(informers.NewSharedInformerFactory(cs, 0))
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	kc.Start(runCtx)
	defer kc.Shutdown()
	go func() { done <- kc.Run(runCtx, rec, 200*time.Millisecond) }()

	deadline := time.Now().Add(90 * time.Second)
	var why string
	for {
		s, _ := rec.snapshot()
		why = check(s, node, ns)
		if why == "" {
			break
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("kube-state series never matched: %s", why)
		}
		time.Sleep(250 * time.Millisecond)
	}
	_, before := rec.snapshot()
	time.Sleep(600 * time.Millisecond)
	if _, after := rec.snapshot(); after <= before {
		t.Errorf("Run stopped writing: %d writes, then %d", before, after)
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("Run did not return after cancel")
	}
}

// check returns "" when s shows the deployment fully available on node, or
// what is still missing.
func check(s []metrics.Series, node, ns string) string {
	if len(s) == 0 {
		return "no write yet"
	}
	if v, n := find(s, "kube_deployment_status_replicas_available", "namespace", ns, "deployment", "web"); n != 1 || v != 3 {
		return fmt.Sprintf("replicas_available: %d series, value %v", n, v)
	}
	if v, n := find(s, "kube_deployment_spec_replicas", "namespace", ns, "deployment", "web"); n != 1 || v != 3 {
		return fmt.Sprintf("spec_replicas: %d series, value %v", n, v)
	}
	if v, n := find(s, "kube_node_status_condition", "node", node, "condition", "Ready", "status", "true"); n != 1 || v != 1 {
		return fmt.Sprintf("node Ready true: %d series, value %v", n, v)
	}
	if v, n := find(s, "kube_node_info", "node", node); n != 1 || v != 1 {
		return fmt.Sprintf("node info: %d series", n)
	}
	if v, n := find(s, "kube_namespace_status_phase", "namespace", ns, "phase", "Active"); n != 1 || v != 1 {
		return fmt.Sprintf("namespace Active: %d series, value %v", n, v)
	}
	running := map[string]bool{}
	for _, x := range s {
		l := x.Labels
		if l.Get(labels.MetricName) == "kube_pod_status_phase" && l.Get("namespace") == ns &&
			l.Get("phase") == "Running" && x.Samples[0].V == 1 {
			running[l.Get("pod")] = true
		}
	}
	if len(running) != 3 {
		return fmt.Sprintf("%d running pods", len(running))
	}
	for pod := range running {
		if !strings.HasPrefix(pod, "web-") {
			return "unexpected pod " + pod
		}
		if _, n := find(s, "kube_pod_labels", "namespace", ns, "pod", pod,
			"label_app", "web", "label_app_kubernetes_io_part_of", "shop"); n != 1 {
			return "labels missing for " + pod
		}
		if _, n := find(s, "kube_pod_info", "namespace", ns, "pod", pod, "node", node, "created_by_kind", "ReplicaSet"); n != 1 {
			return "pod info missing for " + pod
		}
		if _, n := find(s, "kube_pod_status_phase", "namespace", ns, "pod", pod); n != 5 {
			return fmt.Sprintf("%d phase series for %s", n, pod)
		}
		if _, n := find(s, "kube_pod_container_status_ready", "namespace", ns, "pod", pod, "container", "nginx"); n != 1 {
			return "container ready missing for " + pod
		}
		if v, n := find(s, "kube_pod_container_status_restarts_total", "namespace", ns, "pod", pod, "container", "nginx"); n != 1 || v != 0 {
			return "container restarts missing for " + pod
		}
	}
	return ""
}
