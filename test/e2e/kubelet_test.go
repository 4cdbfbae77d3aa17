package e2e

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"vigil/test/cluster"
)

// klPod is a test pod on a kwok node with kwok's usage annotations.
type klPod struct {
	ns, name, node string
	containers     []string
	cpu, memory    string // annotations
	memBytes       float64
}

// TestKubeletResourceMetrics runs the real scrape and parse path against kwok's
// simulated kubelets: the server scrapes every inventory node, and an agent
// scrapes its own node; the stored container, pod and node series carry the
// right labels and exactly the annotated memory.
func TestKubeletResourceMetrics(t *testing.T) {
	c := cluster.StartForTest(t, cluster.Options{})
	ctx := ctxTimeout(t, 5*time.Minute)
	for _, n := range []string{"kl-node-0", "kl-node-1"} {
		if _, err := c.CreateFakeNode(ctx, n, nil); err != nil {
			t.Fatal(err)
		}
	}
	pods := []klPod{
		{"kl-shop", "web-0", "kl-node-0", []string{"app", "sidecar"}, "250m", "100Mi", 100 << 20},
		{"kl-shop", "web-1", "kl-node-1", []string{"app"}, "500m", "300Mi", 300 << 20},
		{"kl-batch", "job-0", "kl-node-1", []string{"worker"}, "1", "1Gi", 1 << 30},
	}
	cs := c.Clientset()
	for _, ns := range []string{"kl-shop", "kl-batch"} {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range pods {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: p.ns, Name: p.name, Annotations: map[string]string{
				"kwok.x-k8s.io/usage-cpu": p.cpu, "kwok.x-k8s.io/usage-memory": p.memory}},
			Spec: corev1.PodSpec{
				NodeSelector: map[string]string{"kubernetes.io/hostname": p.node},
				Tolerations:  []corev1.Toleration{cluster.KwokToleration},
			},
		}
		for _, cn := range p.containers {
			pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: cn, Image: "registry.example/" + cn + ":1"})
		}
		if _, err := cs.CoreV1().Pods(p.ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	tmpl := fmt.Sprintf("https://127.0.0.1:%d/metrics/nodes/{node}/metrics/resource", c.KwokPort)
	s := startServer(t, "--kubeconfig", c.Kubeconfig, "--kubelet-scrape-url", tmpl,
		"--kubelet-scrape-ca-file", c.CAFile, "--kubelet-scrape-interval", "3s")

	// Memory: exactly as annotated, per container; pods and nodes sum their containers.
	type want struct {
		q string
		v float64
	}
	var wants []want
	nodeMem := map[string]float64{}
	for _, p := range pods {
		for _, cn := range p.containers {
			wants = append(wants, want{fmt.Sprintf(`container_memory_working_set_bytes{namespace=%q,pod=%q,container=%q,node=%q}`, p.ns, p.name, cn, p.node), p.memBytes})
		}
		podMem := p.memBytes * float64(len(p.containers))
		wants = append(wants, want{fmt.Sprintf(`pod_memory_working_set_bytes{namespace=%q,pod=%q,node=%q}`, p.ns, p.name, p.node), podMem})
		nodeMem[p.node] += podMem
	}
	for n, v := range nodeMem {
		wants = append(wants, want{fmt.Sprintf(`node_memory_working_set_bytes{node=%q}`, n), v})
	}
	start := time.Now()
	waitFor(t, "annotated memory of every container, pod and node", 90*time.Second, func() (bool, string) {
		for _, w := range wants {
			r := s.promVector(t, w.q)
			if len(r) != 1 {
				return false, fmt.Sprintf("%s: %d series", w.q, len(r))
			}
			if v, _ := strconv.ParseFloat(fmt.Sprint(r[0].Value[1]), 64); v != w.v {
				return false, fmt.Sprintf("%s = %v, want %v", w.q, v, w.v)
			}
		}
		return true, ""
	})
	t.Logf("%d memory series exact %v after the server started", len(wants), time.Since(start).Round(time.Millisecond))

	// Labels: the kubelet's own plus node, nothing else.
	r := s.promVector(t, `container_memory_working_set_bytes{namespace=~"kl-.*"}`)
	if len(r) != 4 {
		t.Fatalf("container series: %v", r)
	}
	for _, x := range r {
		var keys []string
		for k := range x.Metric {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if got := strings.Join(keys, ","); got != "__name__,container,namespace,node,pod" {
			t.Fatalf("labels %s of %v", got, x.Metric)
		}
	}

	// CPU: kwok's counters are approximate, so check shape: one finite,
	// non-negative counter per container, pod and node, scraped repeatedly.
	cpuShapes := map[string]int{
		`container_cpu_usage_seconds_total{namespace=~"kl-.*"}`: 4,
		`pod_cpu_usage_seconds_total{namespace=~"kl-.*"}`:       3,
		`node_cpu_usage_seconds_total{node=~"kl-node-.*"}`:      2,
		`container_start_time_seconds{namespace=~"kl-.*"}`:      4,
	}
	waitFor(t, "CPU counters scraped at least twice", 60*time.Second, func() (bool, string) {
		for q, n := range cpuShapes {
			r := s.promVector(t, q)
			if len(r) != n {
				return false, fmt.Sprintf("%s: %d series, want %d", q, len(r), n)
			}
			for _, x := range r {
				v, err := strconv.ParseFloat(fmt.Sprint(x.Value[1]), 64)
				if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
					return false, fmt.Sprintf("%s: %v", q, x)
				}
			}
			if c := s.promVector(t, fmt.Sprintf(`count_over_time(%s[1m]) >= 2`, q)); len(c) != n {
				return false, fmt.Sprintf("%s: %d series with two samples", q, len(c))
			}
		}
		return true, ""
	})
	// A rate over the counters answers, as dashboards will ask.
	if r := s.promVector(t, `sum by (node) (rate(pod_cpu_usage_seconds_total{namespace=~"kl-.*"}[1m]))`); len(r) != 2 {
		t.Fatalf("pod CPU rate by node: %v", r)
	}

	// An agent on kl-node-0 scraping its own kubelet ships the same series
	// through its buffer to another server.
	s2 := startServer(t)
	startAgent(t, s2, t.TempDir(), "--node-name", "kl-node-0",
		"--kubelet-url", fmt.Sprintf("https://127.0.0.1:%d/metrics/nodes/kl-node-0", c.KwokPort), "--kubelet-insecure-tls",
		"--pod-logs-root", t.TempDir(), "--processes-top", "0", "--metrics-interval", "3s")
	waitFor(t, "the agent's kubelet series", 60*time.Second, func() (bool, string) {
		r := s2.promVector(t, `container_memory_working_set_bytes{namespace="kl-shop",pod="web-0",node="kl-node-0"}`)
		if len(r) != 2 {
			return false, fmt.Sprint(r)
		}
		for _, x := range r {
			if fmt.Sprint(x.Value[1]) != strconv.Itoa(100<<20) {
				return false, fmt.Sprint(r)
			}
		}
		return true, ""
	})
	if r := s2.promVector(t, `container_memory_working_set_bytes{node!="kl-node-0"}`); len(r) != 0 {
		t.Fatalf("agent shipped other nodes' series: %v", r)
	}

	// A deleted pod's series end at once (staleness markers), not after the lookback window.
	if err := cs.CoreV1().Pods("kl-batch").Delete(ctx, "job-0", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	waitFor(t, "the deleted pod's series to end", 60*time.Second, func() (bool, string) {
		r := s.promVector(t, `container_memory_working_set_bytes{namespace="kl-batch"}`)
		return len(r) == 0, fmt.Sprint(r)
	})
	t.Logf("deleted pod's series ended %v after the delete", time.Since(deleted).Round(time.Millisecond))
	if r := s.promVector(t, `node_memory_working_set_bytes{node="kl-node-1"}`); len(r) != 1 || fmt.Sprint(r[0].Value[1]) != strconv.Itoa(300<<20) {
		t.Fatalf("kl-node-1 memory after the delete: %v", r)
	}
}
