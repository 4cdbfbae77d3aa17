package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"vigil/test/cluster"
)

// TestAuditLog: the real kube-apiserver sends its audit webhook to vigil; one
// service account creates a pod, another execs into it, and an audit query
// names each of them.
func TestAuditLog(t *testing.T) {
	s := startServer(t)
	// The webhook kubeconfig names only a URL; the API server's client sends
	// its user info as basic auth, which vigil takes as the token.
	hook := strings.Replace(s.url, "http://", "http://audit:"+s.agentToken+"@", 1) + "/api/v1/audit/webhook"
	// vigil's shipped audit policy replaces the test cluster's (the later flag wins).
	out, _ := exec.Command(vigilBin, "audit", "policy").Output()
	policy := filepath.Join(t.TempDir(), "audit-policy.yaml")
	if err := os.WriteFile(policy, out, 0o644); err != nil || len(out) == 0 {
		t.Fatalf("write vigil's audit policy (%d bytes): %v", len(out), err)
	}
	c := cluster.StartForTest(t, cluster.Options{AuditWebhookURL: hook, ExtraAPIServerArgs: []string{"--audit-policy-file=" + policy}})
	ctx := ctxTimeout(t, 4*time.Minute)
	const auditNS = "payments"
	if _, err := c.CreateFakeNode(ctx, fakeNode, nil); err != nil {
		t.Fatal(err)
	}
	admin := c.Clientset()
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: auditNS}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Two service accounts with the built-in "edit" role: real, distinct identities.
	tokens := map[string]string{}
	for _, sa := range []string{"deployer", "debugger"} {
		if _, err := admin.CoreV1().ServiceAccounts(auditNS).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		rb := &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: sa + "-edit"},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "edit"},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: auditNS}},
		}
		if _, err := admin.RbacV1().RoleBindings(auditNS).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		tr, err := admin.CoreV1().ServiceAccounts(auditNS).CreateToken(ctx, sa, &authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		tokens[sa] = tr.Status.Token
	}
	cfg := c.RESTConfig()
	cfg.BearerToken = tokens["deployer"]
	deployer := kubernetes.NewForConfigOrDie(cfg)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "ledger-0", Namespace: auditNS},
		Spec: corev1.PodSpec{
			NodeSelector: map[string]string{"kubernetes.io/hostname": fakeNode},
			Tolerations:  []corev1.Toleration{cluster.KwokToleration},
			Containers:   []corev1.Container{{Name: "app", Image: "busybox:1.36"}},
		},
	}
	// RBAC bindings take a moment to reach the authorizer's cache.
	waitFor(t, "deployer creates the pod", 30*time.Second, func() (bool, string) {
		_, err := deployer.CoreV1().Pods(auditNS).Create(ctx, pod, metav1.CreateOptions{})
		return err == nil, fmt.Sprint(err)
	})
	waitFor(t, "pod running", 60*time.Second, func() (bool, string) {
		p, err := admin.CoreV1().Pods(auditNS).Get(ctx, pod.Name, metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning, fmt.Sprint(err)
	})
	// kwok serves no exec stream, so the exec fails upstream, but the API
	// server authorizes and audits the request first.
	execCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	out, execErr := c.Kubectl(execCtx, "--token", tokens["debugger"], "-n", auditNS, "exec", pod.Name, "--", "cat", "/etc/secret")
	cancel()
	t.Logf("kubectl exec (expected to fail on a kwok node): %v %s", execErr, bytes.TrimSpace(out))

	t.Run("audit query names who created the pod", func(t *testing.T) {
		q := fmt.Sprintf(`source:="kube-audit" audit.resource:=pods audit.namespace:=%s audit.name:=%s audit.verb:=create -audit.subresource:*`, auditNS, pod.Name)
		rows := s.waitLogRows(t, "audit row of the pod's creation", 30*time.Second, q, someRows)
		for _, r := range rows {
			if r["audit.user"] != "system:serviceaccount:payments:deployer" {
				t.Errorf("creator = %q, want the deployer service account (row %v)", r["audit.user"], r)
			}
			if r["audit.code"] != "201" || !strings.Contains(r["audit.groups"], "system:serviceaccounts:payments") ||
				r["audit.source_ip"] == "" || r["audit.user_agent"] == "" || r["audit.stage"] != "ResponseComplete" {
				t.Errorf("creation row fields: %v", r)
			}
			if !strings.Contains(r["audit.request_object"], `"image":"busybox:1.36"`) {
				t.Errorf("request object missing the pod spec: %q", r["audit.request_object"])
			}
			if r["_msg"] != "system:serviceaccount:payments:deployer create pods payments/ledger-0" {
				t.Errorf("_msg = %q", r["_msg"])
			}
		}
	})

	t.Run("audit query names who exec'd into the pod", func(t *testing.T) {
		q := fmt.Sprintf(`source:="kube-audit" audit.resource:=pods audit.subresource:=exec audit.namespace:=%s audit.name:=%s`, auditNS, pod.Name)
		rows := s.waitLogRows(t, "audit row of the exec", 30*time.Second, q, someRows)
		for _, r := range rows {
			if r["audit.user"] != "system:serviceaccount:payments:debugger" {
				t.Errorf("exec by %q, want the debugger service account (row %v)", r["audit.user"], r)
			}
			if !strings.Contains(r["audit.request_uri"], "command=cat") {
				t.Errorf("request URI %q does not show the command", r["audit.request_uri"])
			}
			t.Logf("exec audit row: stage=%s code=%s verb=%s msg=%q", r["audit.stage"], r["audit.code"], r["audit.verb"], r["_msg"])
		}
		// Nobody else exec'd into it.
		if others := s.logRows(t, q+` -audit.user:="system:serviceaccount:payments:debugger"`); len(others) != 0 {
			t.Errorf("unexpected exec rows: %v", others)
		}
	})

	t.Run("the Audit page names them in Chromium", func(t *testing.T) {
		b := openBrowser(t, s)
		b.open("/logs/audit?view=exec&range=1h", "#audit-results")
		b.waitText("#audit-results tbody", 20*time.Second, func(s string) bool {
			return strings.Contains(s, "system:serviceaccount:payments:debugger") && strings.Contains(s, "payments/ledger-0")
		})
		b.shot("audit-exec.png")
		b.do("show pod creations", chromedp.Click(chromedp.CSS(`#audit-views button[data-view="pods"]`)))
		b.waitText("#audit-results tbody", 20*time.Second, func(s string) bool {
			return strings.Contains(s, "system:serviceaccount:payments:deployer") && strings.Contains(s, "create")
		})
		b.waitText("#audit-logins tbody", 20*time.Second, func(s string) bool { return strings.Contains(s, "system:serviceaccount:payments:deployer") })
		b.shot("audit-pods.png")
	})

	t.Run("malformed and huge payloads are refused and store nothing", func(t *testing.T) {
		before := len(s.logRows(t, `source:="kube-audit"`))
		post := func(body []byte) int {
			req, _ := http.NewRequest("POST", hook, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		good := `{"level":"Metadata","auditID":"e2e-%d","stage":"ResponseComplete","requestURI":"/x","verb":"delete","user":{"username":"mallory"},"objectRef":{"resource":"secrets","namespace":"payments","name":"x"},"requestReceivedTimestamp":"%s"}`
		now := time.Now().UTC().Format(time.RFC3339Nano)
		half := fmt.Sprintf(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[%s,%s]}`,
			fmt.Sprintf(good, 1, now), strings.Replace(fmt.Sprintf(good, 2, now), now, "not-a-time", 1))
		if code := post([]byte(half)); code != 400 {
			t.Errorf("half-valid payload: %d, want 400", code)
		}
		if code := post([]byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{]}`)); code != 400 {
			t.Errorf("malformed payload: %d, want 400", code)
		}
		huge := append([]byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[`), bytes.Repeat([]byte(fmt.Sprintf(good, 3, now)+","), 100_000)...)
		if code := post(huge); code != 413 {
			t.Errorf("huge payload (%d MB): %d, want 413", len(huge)>>20, code)
		}
		// Nothing from those payloads was stored; the cluster's own events keep arriving.
		time.Sleep(2 * time.Second)
		if rows := s.logRows(t, `source:="kube-audit" audit.user:=mallory`); len(rows) != 0 {
			t.Errorf("%d rows stored from rejected payloads", len(rows))
		}
		if after := len(s.logRows(t, `source:="kube-audit"`)); after < before {
			t.Errorf("audit rows went from %d to %d", before, after)
		}
	})
}

// logPod is a pod whose kubelet-layout log file the test writes.
type logPod struct {
	ns, name, uid, container string
	file                     string
}

func (p *logPod) append(t *testing.T, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(p.file, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(strings.Join(lines, "")); err != nil {
		t.Fatal(err)
	}
}

// createLogPod creates a pod (through a Deployment when workload is set) on
// the fake node and prepares its log file under root.
func createLogPod(t *testing.T, ctx context.Context, c *cluster.Cluster, root, namespace, workload, name string) *logPod {
	t.Helper()
	cs := c.Clientset()
	if _, err := cs.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{}); err != nil {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	labels := map[string]string{"app": name}
	spec := corev1.PodSpec{
		NodeSelector: map[string]string{"kubernetes.io/hostname": fakeNode},
		Tolerations:  []corev1.Toleration{cluster.KwokToleration},
		Containers:   []corev1.Container{{Name: "app", Image: "example/" + name + ":1"}},
	}
	if workload != "" {
		one := int32(1)
		dep := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: workload, Namespace: namespace},
			Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec}},
		}
		if _, err := cs.AppsV1().Deployments(namespace).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	} else {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels}, Spec: spec}
		if _, err := cs.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	p := &logPod{ns: namespace, container: "app"}
	waitFor(t, "pod of "+name+" running", 90*time.Second, func() (bool, string) {
		list, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
		if err != nil || len(list.Items) != 1 || list.Items[0].Status.Phase != corev1.PodRunning {
			return false, fmt.Sprint(err)
		}
		p.name, p.uid = list.Items[0].Name, string(list.Items[0].UID)
		return true, ""
	})
	dir := filepath.Join(root, fmt.Sprintf("%s_%s_%s", namespace, p.name, p.uid), p.container)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p.file = filepath.Join(dir, "0.log")
	return p
}

// TestLoggingPipeline: pods in the local cluster write plain, JSON,
// multi-line (Java, Python, Go) and partial CRI lines; the agent ships them,
// the server parses, masks, filters and rate-limits them, and the explorer's
// APIs find every kind by every facet; live tail shows new lines within 2 s.
func TestLoggingPipeline(t *testing.T) {
	c := cluster.StartForTest(t, cluster.Options{})
	ctx := ctxTimeout(t, 6*time.Minute)
	const zone = "eu-west-1b"
	if _, err := c.CreateFakeNode(ctx, fakeNode, map[string]string{"topology.kubernetes.io/zone": zone}); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	checkout := createLogPod(t, ctx, c, root, "store", "checkout", "checkout")
	spammer := createLogPod(t, ctx, c, root, "noisy", "", "spammer")
	hidden := createLogPod(t, ctx, c, root, "ignored", "", "hidden")
	archive := createLogPod(t, ctx, c, root, "archive", "", "batch")

	s := startServer(t, "--kubeconfig", c.Kubeconfig, "--logs-retention-check", "2s")
	rules := `{"exclude":["ignored"],"namespaceRateLimits":{"noisy":100},"rateBurst":100,"redact":[{"namespace":"store","pattern":"internal-ref-[0-9]+"}]}`
	if b, code := s.sendRaw(t, "PUT", "/api/logs/rules", strings.NewReader(rules)); code != 200 {
		t.Fatalf("PUT rules: %d %s", code, b)
	}
	if b, code := s.sendRaw(t, "PUT", "/api/logs/rules", strings.NewReader(`{"redact":[{"pattern":"("}]}`)); code != 400 {
		t.Errorf("invalid rules: %d %s, want 400", code, b)
	}

	base := time.Now().Add(-2 * time.Minute)
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }
	const secret = "Sup3rS3cretPassw0rd"
	checkout.append(t,
		criLine(at(0), "stdout", "F", `GET /cart 200 12ms`),
		criLine(at(1), "stdout", "F", `{"level":"error","msg":"payment declined","http":{"status":503,"method":"POST"},"user_id":"u-42"}`),
		criLine(at(2), "stdout", "F", `{"level":"info","msg":"order placed","user_id":"u-7","order_id":"o-991"}`),
		criLine(at(3), "stderr", "F", "2026-11-26 10:00:00 ERROR [main] c.e.Checkout - request failed"),
		criLine(at(3), "stderr", "F", "java.lang.IllegalStateException: cart is locked"),
		criLine(at(3), "stderr", "F", "\tat com.example.Cart.lock(Cart.java:42)"),
		criLine(at(3), "stderr", "F", "\tat com.example.Checkout.run(Checkout.java:7)"),
		criLine(at(3), "stderr", "F", "Caused by: java.util.concurrent.TimeoutException: lock wait"),
		criLine(at(3), "stderr", "F", "\t... 2 more"),
		criLine(at(4), "stderr", "F", "Traceback (most recent call last):"),
		criLine(at(4), "stderr", "F", `  File "/app/worker.py", line 12, in <module>`),
		criLine(at(4), "stderr", "F", "    run()"),
		criLine(at(4), "stderr", "F", "ValueError: quantity must be positive"),
		criLine(at(5), "stderr", "F", "panic: runtime error: index out of range [5] with length 3"),
		criLine(at(5), "stderr", "F", ""),
		criLine(at(5), "stderr", "F", "goroutine 1 [running]:"),
		criLine(at(5), "stderr", "F", "main.main()"),
		criLine(at(5), "stderr", "F", "\t/app/main.go:8 +0x1d"),
		criLine(at(6), "stdout", "P", "a long line the runtime split, "),
		criLine(at(6), "stdout", "F", "joined again"),
		criLine(at(7), "stdout", "F", "WARN cache miss ratio high level=warn"),
		criLine(at(8), "stdout", "F", "login user=bob password="+secret+" card 4111 1111 1111 1111 internal-ref-12345"),
	)
	var spam []string
	for i := range 3000 {
		spam = append(spam, criLine(base.Add(time.Duration(i)*time.Millisecond), "stdout", "F", fmt.Sprintf("spam line %d", i)))
	}
	spammer.append(t, spam...)
	hidden.append(t, criLine(at(0), "stdout", "F", "this namespace is excluded"))
	// Lines from 30 hours ago and from now, for per-namespace retention.
	archive.append(t,
		criLine(time.Now().Add(-30*time.Hour), "stdout", "F", "archived old line 1"),
		criLine(time.Now().Add(-30*time.Hour+time.Second), "stdout", "F", "archived old line 2"),
		criLine(time.Now().Add(-time.Minute), "stdout", "F", "archived recent line"))

	startAgent(t, s, t.TempDir(), "--kubeconfig", c.Kubeconfig, "--node-name", fakeNode, "--pod-logs-root", root)

	store := `namespace:="store"`
	const entries = 10 // plain, 2 JSON, logger line, Java, Python, Go, joined partial, warn, secret
	rows := s.waitLogRows(t, "the checkout pod's entries", 60*time.Second, store+` -"vigil:"`, nRows(entries))
	byMsg := func(sub string) map[string]string {
		t.Helper()
		var found []map[string]string
		for _, r := range rows {
			if strings.Contains(r["_msg"], sub) {
				found = append(found, r)
			}
		}
		if len(found) != 1 {
			t.Errorf("%d rows contain %q, want 1", len(found), sub)
			return map[string]string{}
		}
		return found[0]
	}

	t.Run("multi-line traces and partial lines are one entry each", func(t *testing.T) {
		java := byMsg("IllegalStateException")
		if !strings.Contains(java["_msg"], "\tat com.example.Checkout.run") || !strings.Contains(java["_msg"], "Caused by: java.util.concurrent.TimeoutException") || java["level"] != "error" {
			t.Errorf("Java trace: %q level %q", java["_msg"], java["level"])
		}
		py := byMsg("Traceback")
		if !strings.HasSuffix(py["_msg"], "ValueError: quantity must be positive") || py["level"] != "error" {
			t.Errorf("Python trace: %q level %q", py["_msg"], py["level"])
		}
		goTrace := byMsg("panic: runtime error")
		if !strings.Contains(goTrace["_msg"], "goroutine 1 [running]:\nmain.main()\n\t/app/main.go:8") || goTrace["level"] != "error" {
			t.Errorf("Go trace: %q level %q", goTrace["_msg"], goTrace["level"])
		}
		if r := byMsg("runtime split"); r["_msg"] != "a long line the runtime split, joined again" {
			t.Errorf("partial lines: %q", r["_msg"])
		}
		if r := byMsg("request failed"); r["level"] != "error" {
			t.Errorf("logger line level %q", r["level"])
		}
	})

	t.Run("JSON lines are parsed into fields with their level", func(t *testing.T) {
		r := byMsg("payment declined")
		if r["level"] != "error" || r["http.status"] != "503" || r["http.method"] != "POST" || r["user_id"] != "u-42" || r["msg"] != "payment declined" {
			t.Errorf("JSON row: %v", r)
		}
		if r := byMsg("cache miss"); r["level"] != "warn" {
			t.Errorf("text level: %v", r)
		}
	})

	t.Run("secrets are masked before they are stored", func(t *testing.T) {
		for _, q := range []string{secret, `"4111 1111 1111 1111"`, `"internal-ref-12345"`, `*` + secret[4:12] + `*`} {
			if got := s.logRows(t, q); len(got) != 0 {
				t.Errorf("search %s found %d rows: %v", q, len(got), got)
			}
		}
		r := byMsg("login user=bob")
		if !strings.Contains(r["_msg"], "password=[REDACTED]") || !strings.Contains(r["_msg"], "**** **** **** 1111") || !strings.Contains(r["_msg"], "[REDACTED]") {
			t.Errorf("masked line: %q", r["_msg"])
		}
	})

	t.Run("every facet finds the entries", func(t *testing.T) {
		facets := map[string]int{
			`node:=` + fakeNode:         entries,
			`zone:=` + zone:             entries,
			`workload:=checkout`:        entries,
			`pod:=` + checkout.name:     entries,
			`container:=app`:            entries,
			`stream:=stderr`:            4, // logger line, Java, Python, Go
			`level:=error`:              5, // JSON error, logger line, 3 traces
			`level:=warn`:               1,
			`http.status:=503`:          1,
			`user_id:=u-7`:              1,
			`label.app:=checkout`:       entries,
			`workload_kind:=Deployment`: entries,
		}
		for f, want := range facets {
			if got := s.logRows(t, store+" "+f+` -"vigil:"`); len(got) != want {
				t.Errorf("facet %s: %d rows, want %d", f, len(got), want)
			}
		}
		// The facet counts the explorer shows come from field_values.
		b, code := s.get(t, "/select/logsql/field_values?field=level&query="+url.QueryEscape(store))
		if code != 200 || !strings.Contains(string(b), `{"value":"error","hits":5}`) {
			t.Errorf("level facet counts: %d %s", code, b)
		}
		if got := s.logRows(t, `namespace:="ignored"`); len(got) != 0 {
			t.Errorf("excluded namespace stored %d rows", len(got))
		}
	})

	t.Run("a noisy container is rate limited and the drop is reported", func(t *testing.T) {
		report := s.waitLogRows(t, "the rate-limit report row", 40*time.Second, `namespace:="noisy" vigil.dropped_lines:*`, someRows)
		kept := len(s.logRows(t, `namespace:="noisy" "spam line"`))
		dropped := 0
		for _, r := range report {
			n, _ := strconv.Atoi(r["vigil.dropped_lines"])
			dropped += n
			if r["pod"] != spammer.name || r["level"] != "warn" || !strings.Contains(r["_msg"], "rate limit of 100 lines/s") {
				t.Errorf("report row: %v", r)
			}
		}
		if kept+dropped != 3000 || dropped == 0 {
			t.Errorf("kept %d + dropped %d, want 3000 with drops", kept, dropped)
		}
		waitFor(t, "the dropped-lines counter", 30*time.Second, func() (bool, string) {
			v := s.promVector(t, `vigil_log_lines_dropped_total{namespace="noisy"}`)
			return len(v) == 1 && v[0].Value[1] == strconv.Itoa(dropped), fmt.Sprint(v)
		})
	})

	t.Run("a line's context comes from the same container", func(t *testing.T) {
		r := byMsg("payment declined")
		q := url.Values{"namespace": {"store"}, "pod": {checkout.name}, "container": {"app"}, "time": {r["_time"]}, "before": {"1"}, "after": {"1"}}
		b, code := s.get(t, "/api/logs/context?"+q.Encode())
		var ctxRows []map[string]string
		json.Unmarshal(b, &ctxRows)
		if code != 200 || len(ctxRows) != 3 || ctxRows[0]["_msg"] != "GET /cart 200 12ms" || ctxRows[1]["msg"] != "payment declined" || ctxRows[2]["msg"] != "order placed" {
			t.Errorf("context: %d %s", code, b)
		}
	})

	t.Run("live tail shows a new line within 2 s", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(ctx, "GET", s.url+"/select/logsql/tail?query="+url.QueryEscape(store+` level:=error`), nil)
		req.Header.Set("Authorization", "Bearer "+s.apiToken)
		req.Header.Set("Accept", "text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("tail: %s", resp.Status)
		}
		got := make(chan string, 100)
		go func() {
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				got <- sc.Text()
			}
			close(got)
		}()
		time.Sleep(500 * time.Millisecond)
		for i := range 3 {
			marker := fmt.Sprintf("tailmarker%d-%s", i, randHex(4))
			written := time.Now()
			checkout.append(t, criLine(time.Now(), "stdout", "F", "ERROR live "+marker), criLine(time.Now(), "stdout", "F", "INFO not matching "+marker))
			deadline := time.After(2 * time.Second)
		wait:
			for {
				select {
				case line, ok := <-got:
					if !ok {
						t.Fatal("tail stream ended")
					}
					if strings.Contains(line, "not matching") {
						t.Errorf("tail sent a line outside its filter: %s", line)
					}
					if strings.Contains(line, marker) {
						t.Logf("line %d in the tail %v after it was written", i, time.Since(written).Round(time.Millisecond))
						break wait
					}
				case <-deadline:
					t.Fatalf("line %d not in the tail within 2 s", i)
				}
			}
		}
	})

	t.Run("explorer, live tail and log detail in Chromium", func(t *testing.T) {
		if b, code := s.sendRaw(t, "POST", "/api/logs/views", strings.NewReader(`{"name":"checkout errors","query":"namespace:=\"store\" level:=error","range":"1h"}`)); code != 200 {
			t.Fatalf("save view: %d %s", code, b)
		}
		if b, code := s.sendRaw(t, "POST", "/api/logs/views", strings.NewReader(`{"name":"broken","query":"level:=(("}`)); code != 400 {
			t.Errorf("view with a bad query: %d %s, want 400", code, b)
		}
		b := openBrowser(t, s)
		b.open("/logs?range=15m&query="+url.QueryEscape(store+` -"vigil:" -tailmarker*`), "#logs-results .log-row")
		b.waitCount("#logs-results .log-row", 20*time.Second, func(n int) bool { return n == entries })
		// Facets with counts; clicking one filters.
		b.waitText(`#facet-level button[data-value="error"] .facet-count`, 20*time.Second, func(s string) bool { return s == "5" })
		b.waitText(`#facet-zone button[data-value="`+zone+`"] .facet-count`, 20*time.Second, func(s string) bool { return s == strconv.Itoa(entries) })
		b.waitCount("#logs-histogram canvas", 20*time.Second, func(n int) bool { return n > 0 })
		b.shot("logs-explorer.png")
		b.do("click the error facet", chromedp.Click(chromedp.CSS(`#facet-level button[data-value="error"]`)))
		b.waitCount("#logs-results .log-row", 20*time.Second, func(n int) bool { return n == 5 })
		if q := b.text("#logs-query"); q != "" {
			t.Logf("query box: %s", q)
		}
		// Parsed fields are facets too.
		b.do("expand the http.status field", chromedp.Click(chromedp.CSS(`#facet-fields button[data-field="http.status"]`)))
		b.waitText(`#facet-fields button[data-value="503"] .facet-count`, 20*time.Second, func(s string) bool { return s == "1" })
		// Search words are highlighted.
		b.open("/logs?range=15m&query="+url.QueryEscape(store+` "payment declined"`), "#logs-results .log-row")
		b.waitText("#logs-results mark", 20*time.Second, func(s string) bool { return s == "payment declined" })
		// A line's context: the lines before and after it from its container.
		b.do("open the line", chromedp.Click(chromedp.CSS("#logs-results .log-line")))
		b.do("show its context", chromedp.Click(chromedp.CSS("#log-context")))
		b.waitCount("#log-context-rows .ctx-line", 20*time.Second, func(n int) bool { return n >= 3 })
		if got := b.text("#log-context-rows .ctx-line.current"); !strings.Contains(got, "payment declined") {
			t.Errorf("current context line: %q", got)
		}
		b.shot("logs-context.png")
		// Field autocomplete in the query box.
		if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(document.getElementById("logs-query").value = "", true)`)); err != nil {
			t.Fatal(err)
		}
		b.do("type a field prefix", chromedp.SendKeys(chromedp.ID("logs-query"), "http.st"))
		b.waitText("#logs-suggest", 20*time.Second, func(s string) bool { return strings.Contains(s, "http.status") })
		b.shot("logs-autocomplete.png")
		// The saved view is offered.
		if got := b.text("#logs-views"); !strings.Contains(got, "checkout errors") {
			t.Errorf("saved views: %q", got)
		}
		// Log detail: metrics around the line with a marker, events, processes.
		if b.count("#log-open-detail") == 0 {
			b.do("open the line again", chromedp.Click(chromedp.CSS("#logs-results .log-line")))
		}
		// The node CPU chart is a rate: it needs two of the agent's scrapes
		// (15 s apart), which a loaded machine may not have made yet.
		waitFor(t, "two node CPU scrapes", 60*time.Second, func() (bool, string) {
			v := s.promVector(t, `min(count_over_time(node_cpu_seconds_total{node="`+fakeNode+`",mode="idle"}[2m]))`)
			if len(v) == 0 {
				return false, "no samples"
			}
			n, _ := strconv.Atoi(fmt.Sprint(v[0].Value[1]))
			return n >= 2, fmt.Sprintf("%d samples", n)
		})
		b.do("follow the detail link", chromedp.Click(chromedp.CSS("#log-open-detail")))
		b.waitCount("#detail-node-cpu canvas", 60*time.Second, func(n int) bool { return n > 0 })
		b.waitCount("#detail-context .ctx-line", 20*time.Second, func(n int) bool { return n >= 2 })
		b.shot("logs-detail.png")

		// Volume: the biggest talkers and disk use.
		b.open("/logs/volume?range=1h", "#volume-talkers")
		b.waitText("#volume-talkers tbody", 20*time.Second, func(s string) bool { return strings.Contains(s, "store / "+checkout.name) })
		b.waitText("#volume-namespaces tbody", 20*time.Second, func(s string) bool { return strings.Contains(s, "noisy") && !strings.Contains(s, "ignored") })
		b.shot("logs-volume.png")

		// Per-namespace retention, set on the volume page: the archive
		// namespace keeps one day, so its 30-hour-old lines go and the
		// recent one stays; other namespaces keep everything.
		s.waitLogRows(t, "the archive namespace's lines", 30*time.Second, `namespace:="archive" archived`, nRows(3))
		b.do("enter a retention rule", chromedp.SendKeys(chromedp.ID("retention-namespace"), "archive"), chromedp.SendKeys(chromedp.ID("retention-keep"), "1d"))
		b.do("add it", chromedp.Click(chromedp.CSS("#volume-retention button[type=submit]")))
		b.waitText("#volume-retention tbody", 20*time.Second, func(s string) bool { return strings.Contains(s, "archive") && strings.Contains(s, "1d") })
		s.waitLogRows(t, "old archive lines deleted", 60*time.Second, `namespace:="archive" archived`, func(rows []map[string]string) bool {
			return len(rows) == 1 && rows[0]["_msg"] == "archived recent line"
		})
		if got := s.logRows(t, store+` "payment declined"`); len(got) != 1 {
			t.Errorf("retention of another namespace deleted store's lines: %d rows", len(got))
		}
		b.shot("logs-retention.png")
		if bb, code := s.sendRaw(t, "PUT", "/api/logs/rules", strings.NewReader(`{"retention":{"archive":"10m"}}`)); code != 400 {
			t.Errorf("retention under an hour: %d %s, want 400", code, bb)
		}

		// Live tail in the browser at 5,000 lines/s: it keeps up, stays responsive and caps its rows.
		b.open("/logs/tail?query="+url.QueryEscape(store+` "burst"`), "#tail-rows")
		b.waitText("#tail-state", 10*time.Second, func(s string) bool { return s == "live" })
		// The writer runs on its own clock: 5,000 lines a second for 6 s,
		// catching up every 100 ms on what it owes.
		done := make(chan int)
		go func() {
			n := 0
			start := time.Now()
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for ; time.Since(start) < 6*time.Second; <-tick.C {
				var batch []string
				for owed := int(time.Since(start).Seconds()*5000) - n; owed > 0; owed-- {
					batch = append(batch, criLine(time.Now(), "stdout", "F", fmt.Sprintf("INFO burst line %d", n)))
					n++
				}
				checkout.append(t, batch...)
			}
			done <- n
		}()
		maxRate := 0
		var worstFrame float64
		for end := time.Now().Add(8 * time.Second); time.Now().Before(end); time.Sleep(400 * time.Millisecond) {
			// The rate shown, and how long the page takes to paint a frame while lines stream in.
			res, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]float64](`new Promise(r => { const t = performance.now(); requestAnimationFrame(() => r([Number(document.getElementById("tail-rate").dataset.rate), performance.now() - t])); })`, chromedp.EvalAwaitPromise))
			if err != nil || len(res) != 2 {
				t.Fatalf("measure the page: %v %v", res, err)
			}
			maxRate = max(maxRate, int(res[0]))
			worstFrame = max(worstFrame, res[1])
		}
		written := <-done
		b.shot("logs-live-tail.png")
		shown := b.count("#tail-rows .log-row")
		t.Logf("live tail: wrote %d lines, peak %d lines/s shown, worst frame %.0f ms, %d rows on the page", written, maxRate, worstFrame, shown)
		var received int
		waitFor(t, "the tail to receive the burst", 20*time.Second, func() (bool, string) {
			v, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.getElementById("tail-total").dataset.total`))
			received, _ = strconv.Atoi(v)
			return received >= written, fmt.Sprintf("%d of %d", received, written)
		})
		if maxRate < 4000 {
			t.Errorf("tail peaked at %d lines/s while 5,000/s were written", maxRate)
		}
		if shown > 1000 || shown < 500 {
			t.Errorf("%d rows on the page, want the newest 1000", shown)
		}
		if worstFrame > 1000 {
			t.Errorf("the page froze for %.0f ms", worstFrame)
		}
		// Pause holds the rows still; resume continues.
		b.do("pause", chromedp.Click(chromedp.ID("tail-pause")))
		b.waitText("#tail-state", 5*time.Second, func(s string) bool { return s == "paused" })
		before := b.text("#tail-rows .log-row:last-child")
		checkout.append(t, criLine(time.Now(), "stdout", "F", "INFO burst after pause"))
		time.Sleep(2 * time.Second)
		if after := b.text("#tail-rows .log-row:last-child"); after != before {
			t.Errorf("rows changed while paused: %q -> %q", before, after)
		}
		b.do("resume", chromedp.Click(chromedp.ID("tail-pause")))
		checkout.append(t, criLine(time.Now(), "stdout", "F", "INFO burst after resume"))
		b.waitText("#tail-rows .log-row:last-child", 5*time.Second, func(s string) bool { return strings.Contains(s, "burst after resume") })
	})
}
