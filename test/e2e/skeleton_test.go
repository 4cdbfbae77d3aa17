package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"vigil/test/cluster"
)

const (
	fakeNode = "kwok-node-0"
	ns       = "shop"
)

// TestWalkingSkeleton: a real cluster with a kwok node and a 3-replica
// Deployment; vigil server and agent as processes; CRI log files for the pods'
// real UIDs; then vigil's own APIs and UI must show node metrics, pods with
// their labels, and searchable logs with the right metadata.
func TestWalkingSkeleton(t *testing.T) {
	c := cluster.StartForTest(t, cluster.Options{})
	ctx := ctxTimeout(t, 5*time.Minute)
	if _, err := c.CreateFakeNode(ctx, fakeNode, map[string]string{"topology.kubernetes.io/zone": "eu-west-1a"}); err != nil {
		t.Fatal(err)
	}
	pods := deployWeb(t, ctx, c)

	root := t.TempDir()
	want := writePodLogs(t, root, pods)

	s := startServer(t, "--kubeconfig", c.Kubeconfig)
	startAgent(t, s, t.TempDir(), "--kubeconfig", c.Kubeconfig, "--node-name", fakeNode,
		"--pod-logs-root", root, "--metrics-interval", "1s")

	t.Run("node metrics are queryable by PromQL", func(t *testing.T) {
		waitFor(t, "node_memory_MemTotal_bytes for the node", 60*time.Second, func() (bool, string) {
			r := s.promVector(t, fmt.Sprintf(`node_memory_MemTotal_bytes{node=%q}`, fakeNode))
			return len(r) == 1, fmt.Sprint(r)
		})
		waitFor(t, "CPU rate for the node", 60*time.Second, func() (bool, string) {
			r := s.promVector(t, fmt.Sprintf(`sum by (node) (rate(node_cpu_seconds_total{node=%q}[30s]))`, fakeNode))
			return len(r) == 1, fmt.Sprint(r)
		})
		b, code := s.get(t, "/api/nodes/"+fakeNode)
		var n struct {
			Source []string
			Ready  *bool
			Zone   string
		}
		json.Unmarshal(b, &n)
		if code != 200 || strings.Join(n.Source, ",") != "kube,agent" || n.Ready == nil || !*n.Ready || n.Zone != "eu-west-1a" {
			t.Errorf("node view = %d %s", code, b)
		}
	})

	t.Run("cluster state is queryable as kube-state metrics", func(t *testing.T) {
		waitFor(t, "available replicas of the Deployment", 60*time.Second, func() (bool, string) {
			r := s.promVector(t, `kube_deployment_status_replicas_available{namespace="shop",deployment="web"}`)
			return len(r) == 1 && r[0].Value[1] == "3", fmt.Sprint(r)
		})
		waitFor(t, "3 running pods", 30*time.Second, func() (bool, string) {
			r := s.promVector(t, `sum(kube_pod_status_phase{namespace="shop",phase="Running"})`)
			return len(r) == 1 && r[0].Value[1] == "3", fmt.Sprint(r)
		})
	})

	t.Run("pods are known with their labels", func(t *testing.T) {
		var got []struct {
			Name, UID, Node, Workload string
			Labels                    map[string]string
		}
		waitFor(t, "3 pods in /api/pods", 30*time.Second, func() (bool, string) {
			b, _ := s.get(t, "/api/pods?namespace="+ns)
			got = nil
			json.Unmarshal(b, &got)
			return len(got) == 3, string(b)
		})
		for _, p := range got {
			if p.Labels["app"] != "web" || p.Labels["tier"] != "frontend" || p.Workload != "web" || p.Node != fakeNode {
				t.Errorf("pod %s: %+v", p.Name, p)
			}
			if _, ok := pods[p.UID]; !ok {
				t.Errorf("pod %s has unknown uid %s", p.Name, p.UID)
			}
		}
	})

	t.Run("logs are searchable by namespace, pod and container with metadata", func(t *testing.T) {
		for uid, pod := range pods {
			q := fmt.Sprintf(`namespace:=%q pod:=%q container:="nginx"`, ns, pod)
			rows := s.waitLogRows(t, fmt.Sprintf("%d rows of %s", len(want[pod]), pod), 60*time.Second, q, nRows(len(want[pod])))
			seen := map[string]bool{}
			for _, r := range rows {
				seen[r["_msg"]] = true
				for k, v := range map[string]string{"pod_uid": uid, "node": fakeNode, "label.app": "web", "workload": "web", "namespace": ns} {
					if r[k] != v {
						t.Errorf("%s: field %s = %q, want %q (row %v)", pod, k, r[k], v, r)
					}
				}
				if r["stream"] != "stdout" && r["stream"] != "stderr" {
					t.Errorf("stream = %q", r["stream"])
				}
			}
			for _, m := range want[pod] {
				if !seen[m] {
					t.Errorf("%s: missing %q", pod, m)
				}
			}
		}
		// A word search across pods finds the stderr error lines.
		if rows := s.logRows(t, `namespace:="shop" "connection refused"`); len(rows) != len(pods) {
			t.Errorf("word search: %d rows, want %d", len(rows), len(pods))
		}
	})

	t.Run("UI pages render in Chromium", func(t *testing.T) {
		checkUI(t, s, fakeNode, `namespace:="shop"`)
	})
}

// deployWeb creates the Deployment and returns its pods by UID once all 3 run.
func deployWeb(t *testing.T, ctx context.Context, c *cluster.Cluster) map[string]string {
	t.Helper()
	return deployOnKwok(t, ctx, c, ns, fakeNode, map[string]string{"app": "web", "tier": "frontend"},
		corev1.Container{Name: "nginx", Image: "nginx:1.27"})
}

// deployOnKwok creates a namespace and a 3-replica Deployment named after
// labels["app"] on a kwok node, and returns its pods by UID once all 3 run.
func deployOnKwok(t *testing.T, ctx context.Context, c *cluster.Cluster, namespace, node string, labels map[string]string, container corev1.Container) map[string]string {
	t.Helper()
	cs := c.Clientset()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	replicas := int32(3)
	app := labels["app"]
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: namespace},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{"kubernetes.io/hostname": node},
					Tolerations:  []corev1.Toleration{cluster.KwokToleration},
					Containers:   []corev1.Container{container},
				},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments(namespace).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pods := map[string]string{}
	waitFor(t, "3 running pods", 90*time.Second, func() (bool, string) {
		list, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
		if err != nil {
			return false, err.Error()
		}
		clear(pods)
		for _, p := range list.Items {
			if p.Status.Phase == corev1.PodRunning && p.UID != "" {
				pods[string(p.UID)] = p.Name
			}
		}
		return len(pods) == 3, fmt.Sprintf("%d running", len(pods))
	})
	return pods
}

// writePodLogs writes kubelet-layout CRI files for each pod and returns the
// messages that must arrive, per pod.
func writePodLogs(t *testing.T, root string, pods map[string]string) map[string][]string {
	t.Helper()
	want := map[string][]string{}
	base := time.Now().Add(-time.Minute)
	for uid, pod := range pods {
		dir := filepath.Join(root, fmt.Sprintf("%s_%s_%s", ns, pod, uid), "nginx")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i := 0; i < 20; i++ {
			msg := fmt.Sprintf(`10.0.0.%d - - "GET /item/%d HTTP/1.1" 200 %d pod=%s`, i, i, 100+i, pod)
			b.WriteString(criLine(base.Add(time.Duration(i)*time.Second), "stdout", "F", msg))
			want[pod] = append(want[pod], msg)
		}
		// A line the runtime split into partials must arrive joined.
		b.WriteString(criLine(base.Add(30*time.Second), "stdout", "P", "first half of a long line, "))
		b.WriteString(criLine(base.Add(30*time.Second), "stdout", "F", "second half"))
		want[pod] = append(want[pod], "first half of a long line, second half")
		errMsg := "upstream connection refused while reading response header pod=" + pod
		b.WriteString(criLine(base.Add(31*time.Second), "stderr", "F", errMsg))
		want[pod] = append(want[pod], errMsg)
		if err := os.WriteFile(filepath.Join(dir, "0.log"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return want
}
