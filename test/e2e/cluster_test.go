package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"vigil/test/cluster"
)

// kubectlCounts is what `kubectl get … -o json` says about the cluster.
type kubectlCounts struct {
	Nodes, ReadyNodes, Namespaces, Pods, Containers int
	PodsByPhase                                     map[string]int
	Deployments, DeploymentsReady                   int
}

func countWithKubectl(t *testing.T, c *cluster.Cluster) kubectlCounts {
	t.Helper()
	ctx := ctxTimeout(t, time.Minute)
	get := func(args ...string) []map[string]any {
		out, err := c.Kubectl(ctx, append([]string{"get", "-o", "json"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		var l struct{ Items []map[string]any }
		if err := json.Unmarshal(out, &l); err != nil {
			t.Fatalf("kubectl output: %v", err)
		}
		return l.Items
	}
	var k kubectlCounts
	for _, n := range get("nodes") {
		k.Nodes++
		for _, c := range dig(n, "status", "conditions").([]any) {
			cm := c.(map[string]any)
			if cm["type"] == "Ready" && cm["status"] == "True" {
				k.ReadyNodes++
			}
		}
	}
	k.Namespaces = len(get("namespaces"))
	k.PodsByPhase = map[string]int{}
	for _, p := range get("pods", "-A") {
		k.Pods++
		k.PodsByPhase[dig(p, "status", "phase").(string)]++
		k.Containers += len(dig(p, "spec", "containers").([]any))
	}
	for _, d := range get("deployments", "-A") {
		k.Deployments++
		want, _ := dig(d, "spec", "replicas").(float64)
		ready, _ := dig(d, "status", "readyReplicas").(float64)
		if ready >= want {
			k.DeploymentsReady++
		}
	}
	return k
}

func dig(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}

type overview struct {
	Nodes      struct{ Total, Ready int }
	Namespaces int
	Pods       struct {
		Total   int
		ByPhase map[string]int
	}
	Containers  struct{ Total int }
	Deployments struct{ Total, Ready int }
	Unhealthy   []struct{ Namespace, Name, Status, Health string } `json:"unhealthyPods"`
}

func (s *vigilServer) overview(t *testing.T) overview {
	t.Helper()
	b, code := s.get(t, "/api/cluster/overview")
	if code != 200 {
		t.Fatalf("overview: %d %s", code, b)
	}
	var o overview
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatal(err)
	}
	return o
}

func (o overview) matches(k kubectlCounts) string {
	var diffs []string
	cmp := func(what string, got, want int) {
		if got != want {
			diffs = append(diffs, fmt.Sprintf("%s %d, kubectl %d", what, got, want))
		}
	}
	cmp("nodes", o.Nodes.Total, k.Nodes)
	cmp("ready nodes", o.Nodes.Ready, k.ReadyNodes)
	cmp("namespaces", o.Namespaces, k.Namespaces)
	cmp("pods", o.Pods.Total, k.Pods)
	cmp("containers", o.Containers.Total, k.Containers)
	cmp("deployments", o.Deployments.Total, k.Deployments)
	cmp("deployments ready", o.Deployments.Ready, k.DeploymentsReady)
	for ph, n := range k.PodsByPhase {
		cmp("pods "+ph, o.Pods.ByPhase[ph], n)
	}
	return strings.Join(diffs, "; ")
}

type eventRow struct {
	Time                                                 time.Time
	Type, Source, Reason, Message, Namespace, Kind, Name string
}

func (s *vigilServer) events(t *testing.T, q url.Values) []eventRow {
	t.Helper()
	b, code := s.get(t, "/api/events?"+q.Encode())
	if code != 200 {
		t.Fatalf("events: %d %s", code, b)
	}
	var evs []eventRow
	if err := json.Unmarshal(b, &evs); err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestClusterMonitoring: ≥3 kwok nodes, ≥50 pods in ≥4 namespaces. The
// overview must agree with kubectl exactly; scaling, deleting a pod and an
// unschedulable pod must show on the API, the UI and the events page within
// 15 s; screenshots of the overview, cluster map, container list and events.
func TestClusterMonitoring(t *testing.T) {
	c := cluster.StartForTest(t, cluster.Options{})
	ctx := ctxTimeout(t, 10*time.Minute)
	zones := []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"}
	for i, z := range zones {
		if _, err := c.CreateFakeNode(ctx, fmt.Sprintf("kwok-node-%d", i), map[string]string{
			"topology.kubernetes.io/zone": z, "topology.kubernetes.io/region": "eu-west-1"}); err != nil {
			t.Fatal(err)
		}
	}
	manifest, err := os.ReadFile("testdata/cluster-workloads.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--kubeconfig", c.Kubeconfig)
	if err := c.Apply(ctx, manifest); err != nil {
		t.Fatal(err)
	}
	cs := c.Clientset()
	waitFor(t, "≥50 running pods", 3*time.Minute, func() (bool, string) {
		l, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		running := 0
		for _, p := range l.Items {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		return running >= 50, fmt.Sprintf("%d running of %d", running, len(l.Items))
	})

	t.Run("overview counts match kubectl", func(t *testing.T) {
		var why string
		waitFor(t, "overview = kubectl", 30*time.Second, func() (bool, string) {
			why = s.overview(t).matches(countWithKubectl(t, c))
			return why == "", why
		})
		o := s.overview(t)
		if o.Nodes.Total != 3 || o.Pods.Total < 50 || o.Namespaces < 8 {
			t.Errorf("overview too small: %+v", o)
		}
	})

	t.Run("scaling is reflected within 15 s", func(t *testing.T) {
		before := s.overview(t).Pods.Total
		start := time.Now()
		if _, err := c.Kubectl(ctx, "scale", "-n", "shop", "deployment/web", "--replicas=15"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "3 more pods in the overview", 15*time.Second, func() (bool, string) {
			o := s.overview(t)
			return o.Pods.Total == before+3, fmt.Sprint(o.Pods.Total)
		})
		waitFor(t, "the scale event", 15*time.Second, func() (bool, string) {
			evs := s.events(t, url.Values{"namespace": {"shop"}, "name": {"web"}, "kind": {"Deployment"}})
			for _, e := range evs {
				if strings.Contains(e.Message, "scaled from 12 to 15") || (e.Reason == "ScalingReplicaSet" && strings.Contains(e.Message, "to 15")) {
					return true, ""
				}
			}
			return false, fmt.Sprint(evs)
		})
		t.Logf("scale visible after %v", time.Since(start).Round(10*time.Millisecond))
		waitFor(t, "overview = kubectl after scaling", 15*time.Second, func() (bool, string) {
			why := s.overview(t).matches(countWithKubectl(t, c))
			return why == "", why
		})
	})

	t.Run("a deleted pod is reflected within 15 s", func(t *testing.T) {
		l, err := cs.CoreV1().Pods("payments").List(ctx, metav1.ListOptions{LabelSelector: "app=ledger"})
		if err != nil || len(l.Items) == 0 {
			t.Fatalf("ledger pods: %v", err)
		}
		victim := l.Items[0].Name
		start := time.Now()
		if _, err := c.Kubectl(ctx, "delete", "pod", "-n", "payments", victim, "--wait=false"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the delete event", 15*time.Second, func() (bool, string) {
			evs := s.events(t, url.Values{"namespace": {"payments"}, "name": {victim}})
			for _, e := range evs {
				if e.Reason == "Deleted" || e.Reason == "Killing" {
					return true, ""
				}
			}
			return false, fmt.Sprint(evs)
		})
		waitFor(t, "the pod gone from the container list", 15*time.Second, func() (bool, string) {
			b, _ := s.get(t, "/api/cluster/containers?namespace=payments&q="+victim)
			return string(b) == "[]\n", string(b)
		})
		t.Logf("delete visible after %v", time.Since(start).Round(10*time.Millisecond))
	})

	t.Run("a failing pod is reflected within 15 s", func(t *testing.T) {
		start := time.Now()
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "stuck", Namespace: "batch", Labels: map[string]string{"app": "stuck"}},
			Spec: corev1.PodSpec{
				NodeSelector: map[string]string{"disk": "nvme"}, // no node has it
				Tolerations:  []corev1.Toleration{cluster.KwokToleration},
				Containers:   []corev1.Container{{Name: "stuck", Image: "registry.example/batch/stuck:1"}},
			},
		}
		if _, err := cs.CoreV1().Pods("batch").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "FailedScheduling warning", 15*time.Second, func() (bool, string) {
			evs := s.events(t, url.Values{"type": {"Warning"}, "namespace": {"batch"}, "name": {"stuck"}})
			return len(evs) > 0 && evs[0].Reason == "FailedScheduling", fmt.Sprint(evs)
		})
		waitFor(t, "the pod among unhealthy pods", 15*time.Second, func() (bool, string) {
			for _, p := range s.overview(t).Unhealthy {
				if p.Name == "stuck" && p.Health != "ok" {
					return true, ""
				}
			}
			return false, "not listed"
		})
		t.Logf("failing pod visible after %v", time.Since(start).Round(10*time.Millisecond))
	})

	t.Run("user markers are posted and listed", func(t *testing.T) {
		body := `{"message":"deploying v2.3","marker":true,"namespace":"shop","tags":{"version":"2.3"}}`
		b, code := s.post(t, "/api/events", body)
		if code != 201 {
			t.Fatalf("post event: %d %s", code, b)
		}
		b, code = s.post(t, "/api/events", `{"message":""}`)
		if code != 400 {
			t.Errorf("empty event accepted: %d %s", code, b)
		}
		waitFor(t, "the marker", 10*time.Second, func() (bool, string) {
			evs := s.events(t, url.Values{"marker": {"true"}})
			return len(evs) == 1 && evs[0].Message == "deploying v2.3" && evs[0].Source == "user", fmt.Sprint(evs)
		})
	})

	t.Run("UI", func(t *testing.T) {
		checkClusterUI(t, s, c)
	})
}

// post sends a JSON body with the API token.
func (s *vigilServer) post(t *testing.T, path, body string) ([]byte, int) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.apiToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return []byte(err.Error()), 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b, resp.StatusCode
}

// checkClusterUI opens the overview, cluster map, container list and events
// page in Chromium, checks the numbers they show against kubectl and saves
// screenshots.
func checkClusterUI(t *testing.T, s *vigilServer, c *cluster.Cluster) {
	b := openBrowser(t, s)
	k := countWithKubectl(t, c)
	num := func(want int) func(string) bool {
		return func(s string) bool { return strings.ReplaceAll(s, ",", "") == strconv.Itoa(want) }
	}

	b.open("/", "#ov-pods")
	b.waitText("#ov-pods", 15*time.Second, num(k.Pods))
	b.waitText("#ov-nodes", 5*time.Second, num(k.Nodes))
	b.waitText("#ov-namespaces", 5*time.Second, num(k.Namespaces))
	b.waitText("#ov-containers", 5*time.Second, num(k.Containers))
	b.waitText("#ov-deployments", 5*time.Second, func(s string) bool { return s == fmt.Sprintf("%d/%d", k.DeploymentsReady, k.Deployments) })
	b.waitText(`#ov-pods-phase [data-phase="Running"] .phase-count`, 5*time.Second, num(k.PodsByPhase["Running"]))
	b.waitText(`#ov-pods-phase [data-phase="Pending"] .phase-count`, 5*time.Second, num(k.PodsByPhase["Pending"]))
	b.waitCount("#ov-node-health .node-health-row", 5*time.Second, func(n int) bool { return n == k.Nodes })
	b.waitText("#ov-warnings", 10*time.Second, func(s string) bool { return strings.Contains(s, "FailedScheduling") })
	b.waitCount(`#ov-unhealthy .unhealthy-row[data-pod="stuck"]`, 5*time.Second, func(n int) bool { return n == 1 })
	b.shot("overview.png")

	b.open("/cluster/map", "#cluster-map")
	b.waitCount("#cluster-map .map-ns", 10*time.Second, func(n int) bool { return n == k.Namespaces })
	b.waitCount("#cluster-map .map-pod-id", 10*time.Second, func(n int) bool { return n == k.Pods })
	b.waitCount(`#cluster-map [data-ns="shop"] [data-workload="Deployment/web"] .map-pod-id`, 5*time.Second, func(n int) bool { return n == 15 })
	b.waitCount(`#cluster-map .map-pod-id[data-pod="stuck"][data-health="warning"]`, 5*time.Second, func(n int) bool { return n == 1 })
	b.waitCount(`#cluster-map [data-ns="search"] [data-workload="StatefulSet/indexer"] .map-pod-id[data-health="ok"]`, 5*time.Second, func(n int) bool { return n == 6 })
	b.shot("cluster-map.png")

	b.open("/cluster/containers?namespace=shop", "#container-table")
	// shop/web has 15 pods of 2 containers, shop/api 8 of 1.
	b.waitCount("#container-table .container-row", 10*time.Second, func(n int) bool { return n == 15*2+8 })
	b.open("/cluster/containers?namespace=shop&workload=Deployment%2Fapi&zone=eu-west-1a", "#container-table")
	zoneA := 0
	pods, _ := c.Clientset().CoreV1().Pods("shop").List(context.Background(), metav1.ListOptions{LabelSelector: "app=api"})
	for _, p := range pods.Items {
		if p.Spec.NodeName == "kwok-node-0" {
			zoneA++
		}
	}
	b.waitCount("#container-table .container-row", 10*time.Second, func(n int) bool { return n == zoneA })
	b.open("/cluster/containers", "#container-table")
	b.waitCount("#container-table .container-row", 10*time.Second, func(n int) bool { return n == min(100, k.Containers) })
	b.shot("containers.png")

	b.open("/events?range=1h", "#events-list")
	b.waitCount(`#events-list .event-row[data-reason="FailedScheduling"]`, 10*time.Second, func(n int) bool { return n >= 1 })
	b.waitCount(`#events-list .event-row[data-reason="Deleted"]`, 10*time.Second, func(n int) bool { return n >= 1 })
	b.waitCount(`#events-list .event-row.ev-marker`, 10*time.Second, func(n int) bool { return n == 1 })
	b.shot("events.png")
	// Facet click filters the stream to warnings only.
	b.do("filter warnings", chromedp.Click(chromedp.CSS(`#event-facets [data-facet="type"] button[data-value="Warning"]`)))
	b.waitCount("#events-list .event-row.ev-normal", 10*time.Second, func(n int) bool { return n == 0 })
	b.waitCount("#events-list .event-row.ev-warning", 10*time.Second, func(n int) bool { return n >= 1 })

	b.open("/cluster/pods/batch/stuck", "#detail-name")
	b.waitText("#detail-events", 10*time.Second, func(s string) bool { return strings.Contains(s, "FailedScheduling") })
	b.open("/cluster/workloads/shop/Deployment/web", "#detail-pods")
	b.waitCount("#detail-pods .pod-row", 10*time.Second, func(n int) bool { return n == 15 })
	// The "deploying v2.3" marker posted for namespace shop is drawn on its charts.
	b.waitCount(`.chart[data-title="CPU (cores)"][data-markers="1"]`, 10*time.Second, func(n int) bool { return n == 1 })
	b.shot("workload.png")
}

// TestLeaderElection: two servers on one cluster with --leader-elect; one
// holds the Lease and records events, the other serves the same views
// without recording them twice; when the leader stops, the other takes over.
func TestLeaderElection(t *testing.T) {
	c := cluster.StartForTest(t, cluster.Options{})
	ctx := ctxTimeout(t, 5*time.Minute)
	a := startServer(t, "--kubeconfig", c.Kubeconfig, "--leader-elect", "--leader-elect-namespace", "default")
	b := startServer(t, "--kubeconfig", c.Kubeconfig, "--leader-elect", "--leader-elect-namespace", "default")
	cs := c.Clientset()
	var holder string
	waitFor(t, "a Lease holder", 60*time.Second, func() (bool, string) {
		l, err := cs.CoordinationV1().Leases("default").Get(ctx, "vigil-server", metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return false, fmt.Sprint(err)
		}
		holder = *l.Spec.HolderIdentity
		return true, ""
	})
	mark := func(name string) {
		t.Helper()
		if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	recorded := func(s *vigilServer, name string) bool {
		return len(s.events(t, url.Values{"kind": {"ConfigMap"}, "name": {name}})) > 0
	}
	mark("first")
	waitFor(t, "one server records the change", 30*time.Second, func() (bool, string) {
		ra, rb := recorded(a, "first"), recorded(b, "first")
		return ra != rb, fmt.Sprintf("a=%v b=%v", ra, rb)
	})
	time.Sleep(3 * time.Second) // the follower must stay silent
	leader, follower := a, b
	if recorded(b, "first") {
		leader, follower = b, a
	}
	if recorded(follower, "first") {
		t.Fatal("both servers recorded the change")
	}
	// Both serve the cluster views.
	if o := follower.overview(t); o.Namespaces < 4 {
		t.Errorf("follower overview %+v", o)
	}
	leader.stop(syscall.SIGTERM)
	waitFor(t, "the Lease moves", 60*time.Second, func() (bool, string) {
		l, err := cs.CoordinationV1().Leases("default").Get(ctx, "vigil-server", metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return false, fmt.Sprint(err)
		}
		return *l.Spec.HolderIdentity != holder && *l.Spec.HolderIdentity != "", *l.Spec.HolderIdentity
	})
	mark("second")
	waitFor(t, "the new leader records changes", 30*time.Second, func() (bool, string) {
		return recorded(follower, "second"), ""
	})
}
