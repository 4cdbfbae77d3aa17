package cluster_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"vigil/test/cluster"
)

func TestClusterRunsWorkloadOnFakeNode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	audit := newAuditSink(t)
	c := cluster.StartForTest(t, cluster.Options{AuditWebhookURL: audit.URL})
	t.Logf("cluster started in %s; server %s, kwok port %d", c.StartDuration.Round(time.Millisecond), c.Server, c.KwokPort)
	pids := c.PIDs()
	for _, name := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"} {
		if pids[name] == 0 {
			t.Fatalf("component %s not running; pids %v", name, pids)
		}
	}

	// kubectl (built with version ldflags) talks to the cluster.
	out, err := c.Kubectl(ctx, "version", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"gitVersion": "`+cluster.KubernetesVersion+`"`) {
		t.Errorf("kubectl version output lacks %s:\n%s", cluster.KubernetesVersion, out)
	}

	const nodeName = "kwok-node-0"
	began := time.Now()
	node, err := c.CreateFakeNode(ctx, nodeName, map[string]string{"vigil.test/pool": "fake"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("node Ready after %s", time.Since(began).Round(time.Millisecond))
	if node.Labels["vigil.test/pool"] != "fake" {
		t.Errorf("node labels = %v", node.Labels)
	}

	cs := c.Clientset()
	labels := map[string]string{"app": "web"}
	replicas := int32(3)
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      labels,
					Annotations: map[string]string{"kwok.x-k8s.io/usage-memory": "100Mi", "kwok.x-k8s.io/usage-cpu": "50m"},
				},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{"kubernetes.io/hostname": nodeName},
					Tolerations:  []corev1.Toleration{cluster.KwokToleration},
					Containers:   []corev1.Container{{Name: "app", Image: "registry.invalid/web:1"}},
				},
			},
		},
	}
	began = time.Now()
	if _, err := cs.AppsV1().Deployments("default").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var pods []corev1.Pod
	for {
		list, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			t.Fatal(err)
		}
		pods = pods[:0]
		for _, p := range list.Items {
			if p.Status.Phase == corev1.PodRunning && p.UID != "" && p.Spec.NodeName == nodeName && p.Status.PodIP != "" {
				pods = append(pods, p)
			}
		}
		if len(pods) == 3 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("only %d of 3 pods running: %v", len(pods), list.Items)
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Logf("3 pods Running after %s", time.Since(began).Round(time.Millisecond))
	uids := map[string]bool{}
	for _, p := range pods {
		uids[string(p.UID)] = true
	}
	if len(uids) != 3 {
		t.Errorf("pod UIDs not distinct: %v", uids)
	}

	// kwok's kubelet-style resource metrics for the node.
	client := c.HTTPClient()
	var metrics map[string][]sample
	for {
		metrics, err = scrape(ctx, client, c.KwokMetricsURL(nodeName))
		// kwok fills pod and container series a moment apart: wait for both.
		if err == nil && len(metrics["pod_memory_working_set_bytes"]) == 3 && len(metrics["container_memory_working_set_bytes"]) == 3 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("scrape %s: %v; got %v", c.KwokMetricsURL(nodeName), err, metrics)
		case <-time.After(500 * time.Millisecond):
		}
	}
	nodeMem := metrics["node_memory_working_set_bytes"]
	if len(nodeMem) != 1 {
		t.Fatalf("node_memory_working_set_bytes: got %v", nodeMem)
	}
	const podMem = 100 << 20
	if nodeMem[0].value < 3*podMem {
		t.Errorf("node_memory_working_set_bytes = %v, want at least %d", nodeMem[0].value, 3*podMem)
	}
	for _, s := range metrics["pod_memory_working_set_bytes"] {
		if s.value != podMem || !uidsHavePod(pods, s.labels) {
			t.Errorf("pod_memory_working_set_bytes sample %+v, want %d for one of the deployment's pods", s, podMem)
		}
	}
	if len(metrics["container_memory_working_set_bytes"]) != 3 {
		t.Errorf("container_memory_working_set_bytes: got %v", metrics["container_memory_working_set_bytes"])
	}

	// The audit webhook received the writes, under readable user names.
	want := map[string]string{
		"admin/create/deployments":                   "",
		"system:kube-scheduler/create/pods":          "binding",
		"kwok/patch/pods":                            "status",
		"system:kube-controller-manager/create/pods": "",
	}
	for {
		missing := audit.missing(want)
		if len(missing) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("audit events missing: %v; seen: %v", missing, audit.seen())
		case <-time.After(200 * time.Millisecond):
		}
	}

	began = time.Now()
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("stopped in %s", time.Since(began).Round(time.Millisecond))
	for name, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s (pid %d) still exists after Stop: %v", name, pid, err)
		}
		if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process group of %s (%d) still exists after Stop: %v", name, pid, err)
		}
	}
}

func TestStartWithoutBinariesFails(t *testing.T) {
	_, err := cluster.Start(context.Background(), cluster.Options{BinDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "make cluster-build") {
		t.Fatalf("Start with an empty bin dir: err = %v, want one that names make cluster-build", err)
	}
}

// auditSink is an audit webhook receiver that records
// "user/verb/resource" -> subresources seen.
type auditSink struct {
	*httptest.Server
	mu     sync.Mutex
	events map[string]map[string]bool
}

func newAuditSink(t *testing.T) *auditSink {
	a := &auditSink{events: map[string]map[string]bool{}}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The fields of an audit.k8s.io/v1 EventList this test reads.
		var list struct {
			Items []struct {
				Verb string `json:"verb"`
				User struct {
					Username string `json:"username"`
				} `json:"user"`
				ObjectRef *struct {
					Resource    string `json:"resource"`
					Subresource string `json:"subresource"`
				} `json:"objectRef"`
			} `json:"items"`
		}
		if err := json.NewDecoder(r.Body).Decode(&list); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		for _, e := range list.Items {
			if e.ObjectRef == nil {
				continue
			}
			k := e.User.Username + "/" + e.Verb + "/" + e.ObjectRef.Resource
			if a.events[k] == nil {
				a.events[k] = map[string]bool{}
			}
			a.events[k][e.ObjectRef.Subresource] = true
		}
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *auditSink) missing(want map[string]string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var m []string
	for k, sub := range want {
		if !a.events[k][sub] {
			m = append(m, k+"/"+sub)
		}
	}
	return m
}

func (a *auditSink) seen() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var s []string
	for k, subs := range a.events {
		for sub := range subs {
			s = append(s, k+"/"+sub)
		}
	}
	return s
}

func uidsHavePod(pods []corev1.Pod, labels map[string]string) bool {
	for _, p := range pods {
		if p.Name == labels["pod"] && p.Namespace == labels["namespace"] {
			return true
		}
	}
	return false
}

type sample struct {
	labels map[string]string
	value  float64
}

// scrape fetches a Prometheus text exposition and groups its samples by
// metric name.
func scrape(ctx context.Context, client *http.Client, url string) (map[string][]sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("%s: %s", resp.Status, b)
	}
	out := map[string][]sample{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, rest := line, ""
		labels := map[string]string{}
		if i := strings.IndexByte(line, '{'); i >= 0 {
			j := strings.LastIndexByte(line, '}')
			if j < i {
				return nil, fmt.Errorf("bad line %q", line)
			}
			name = line[:i]
			for _, kv := range splitLabels(line[i+1 : j]) {
				k, v, _ := strings.Cut(kv, "=")
				if uq, err := strconv.Unquote(v); err == nil {
					v = uq
				}
				labels[k] = v
			}
			rest = strings.TrimSpace(line[j+1:])
		} else {
			name, rest, _ = strings.Cut(line, " ")
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return nil, fmt.Errorf("no value in %q", line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("value in %q: %w", line, err)
		}
		out[name] = append(out[name], sample{labels: labels, value: v})
	}
	return out, sc.Err()
}

// splitLabels splits `a="x",b="y,z"` at the commas outside quotes.
func splitLabels(s string) []string {
	var parts []string
	inQuote, escaped, start := false, false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case escaped:
			escaped = false
		case s[i] == '\\':
			escaped = true
		case s[i] == '"':
			inQuote = !inQuote
		case s[i] == ',' && !inQuote:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	if strings.TrimSpace(s[start:]) != "" {
		parts = append(parts, s[start:])
	}
	return parts
}
