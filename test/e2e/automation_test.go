package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"vigil/test/cluster"
)

// TestAutomation rolls vigil out into a real cluster with `vigil install`,
// lets a person scale the server behind vigil's back with kubectl, and checks
// that `vigil diff`, `vigil drift k8s` and the Automation page show that drift
// field by field and name the person from the apiserver's audit log; then it
// upgrades with a changed value and uninstalls everything.
func TestAutomation(t *testing.T) {
	// The apiserver's audit webhook points at the vigil server, which starts
	// after the cluster (it needs its kubeconfig); the apiserver retries.
	port := freePort(t)
	s := &vigilServer{url: fmt.Sprintf("http://127.0.0.1:%d", port), dataDir: t.TempDir(),
		agentToken: "agent-" + randHex(12), password: "pw-" + randHex(8)}
	hook := fmt.Sprintf("http://audit:%s@127.0.0.1:%d/api/v1/audit/webhook", s.agentToken, port)
	c := cluster.StartForTest(t, cluster.Options{AuditWebhookURL: hook})
	ctx := ctxTimeout(t, 12*time.Minute)
	admin := c.Clientset()

	nodes := []string{"kwok-auto-a", "kwok-auto-b"}
	for _, n := range nodes {
		if _, err := c.CreateFakeNode(ctx, n, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Storage for the server's claim: a static volume of the test's class.
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "vigil-e2e-data"},
		Spec: corev1.PersistentVolumeSpec{
			StorageClassName:       "vigil-e2e",
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: t.TempDir()}},
		},
	}
	if _, err := admin.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	s.proc = startProc(t, "server", []string{"VIGIL_ADMIN_PASSWORD=" + s.password},
		"server", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data-dir", s.dataDir,
		"--agent-token", s.agentToken, "--kubeconfig", c.Kubeconfig, "--log-level", "warn")
	s.waitReady(t)
	s.apiToken = s.createAPIToken(t)

	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte(fmt.Sprintf(`server:
  persistence:
    storageClass: vigil-e2e
    size: 1Gi
  # Only simulated nodes exist here.
  tolerations:
    - {key: %q, operator: Equal, value: %q, effect: NoSchedule}
`, cluster.KwokNodeTaintKey, cluster.KwokNodeValue)), 0o644); err != nil {
		t.Fatal(err)
	}
	vigil := func(args ...string) (string, error) {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(cctx, vigilBin, append(args, "--kubeconfig", c.Kubeconfig, "--log-level", "warn")...)
		cmd.Stdin = strings.NewReader("")
		out, err := cmd.CombinedOutput()
		t.Logf("$ vigil %s\n%s", strings.Join(args, " "), out)
		return string(out), err
	}

	// Without --yes and without an answer nothing happens.
	out, err := vigil("install", "-f", values)
	if err == nil || !strings.Contains(out, "not approved") {
		t.Fatalf("install without approval: err=%v", err)
	}
	if _, err := admin.AppsV1().StatefulSets("vigil").Get(ctx, "vigil-server", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("unapproved install created the server: %v", err)
	}

	// 1. Install: plan, apply, wait.
	out, err = vigil("install", "--yes", "-f", values, "--timeout", "3m")
	if err != nil {
		t.Fatalf("vigil install: %v", err)
	}
	for _, want := range []string{"Plan: install release vigil in namespace vigil", "+ StatefulSet/vigil/vigil-server",
		"+ DaemonSet/vigil/vigil-agent", "+ NetworkPolicy/vigil/vigil-server", "+ ClusterRole/vigil-server", "revision 1 deployed"} {
		if !strings.Contains(out, want) {
			t.Errorf("install output lacks %q", want)
		}
	}
	sts, err := admin.AppsV1().StatefulSets("vigil").Get(ctx, "vigil-server", metav1.GetOptions{})
	if err != nil || sts.Status.ReadyReplicas != 1 {
		t.Fatalf("server StatefulSet after install: %v ready=%v", err, sts)
	}
	waitFor(t, "one running agent per kwok node", time.Minute, func() (bool, string) {
		pods, err := admin.CoreV1().Pods("vigil").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=agent"})
		if err != nil {
			return false, err.Error()
		}
		on := map[string]int{}
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning {
				on[p.Spec.NodeName]++
			}
		}
		return len(pods.Items) == len(nodes) && on[nodes[0]] == 1 && on[nodes[1]] == 1, fmt.Sprint(on)
	})
	pvc, err := admin.CoreV1().PersistentVolumeClaims("vigil").Get(ctx, "data-vigil-server-0", metav1.GetOptions{})
	if err != nil || pvc.Status.Phase != corev1.ClaimBound {
		t.Fatalf("server data volume: %v %v", err, pvc)
	}

	// A clean install has no drift and nothing to change.
	out, err = vigil("diff")
	if err != nil || !strings.Contains(out, "No changes") {
		t.Fatalf("diff right after install is not empty: %v", err)
	}

	// 2. alice scales the server with kubectl, as a user of her own (client certificate).
	aliceKubeconfig := userKubeconfig(t, c, "alice", "ops")
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "alice-edit", Namespace: "vigil"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "edit"},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: "alice"}},
	}
	if _, err := admin.RbacV1().RoleBindings("vigil").Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubectl := exec.CommandContext(ctx, filepath.Join(c.BinDir, "kubectl"), "--kubeconfig", aliceKubeconfig,
		"-n", "vigil", "scale", "statefulset", "vigil-server", "--replicas=2")
	if b, err := kubectl.CombinedOutput(); err != nil {
		t.Fatalf("kubectl scale as alice: %v: %s", err, b)
	}

	// vigil diff lists that drift, field by field, as the change an upgrade would make.
	out, err = vigil("diff")
	if err != nil {
		t.Fatalf("vigil diff: %v", err)
	}
	if !strings.Contains(out, "~ StatefulSet/vigil/vigil-server") || !strings.Contains(out, "spec.replicas: 2 → 1") {
		t.Errorf("diff does not show the scaled server")
	}
	if n := strings.Count(out, "\n  ~ "); n != 1 || !strings.Contains(out, "0 to add, 1 to change, 0 to remove") {
		t.Errorf("diff shows %d changed objects, want only the server", n)
	}

	// vigil drift k8s names alice from the server's audit log.
	waitFor(t, "drift k8s to blame alice", 60*time.Second, func() (bool, string) {
		out, err := vigil("drift", "k8s", "--server-url", s.url, "--token", s.apiToken)
		return err == nil && strings.Contains(out, "spec.replicas: desired 1, live 2") &&
			strings.Contains(out, "changed by alice") && strings.Contains(out, "with kubectl"), out
	})

	// The server's own drift check finds it too, with the same blame.
	var item struct {
		Kind, Name string
		Changes    []struct{ Path string }
		Blame      *struct{ User, Client, SourceIP, Verb, Subresource string }
	}
	waitFor(t, "server drift check to blame alice", 60*time.Second, func() (bool, string) {
		b, code := s.post(t, "/api/automation/drift/check", "")
		if code != 200 {
			return false, fmt.Sprintf("%d %s", code, b)
		}
		var reports []struct {
			Source string
			Items  []json.RawMessage
		}
		if err := json.Unmarshal(b, &reports); err != nil {
			return false, err.Error()
		}
		for _, r := range reports {
			for _, raw := range r.Items {
				_ = json.Unmarshal(raw, &item)
				if r.Source == "helm:vigil/vigil" && item.Name == "vigil-server" && item.Blame != nil {
					return true, ""
				}
			}
		}
		return false, string(b)
	})
	if item.Kind != "StatefulSet" || len(item.Changes) != 1 || item.Changes[0].Path != "spec.replicas" {
		t.Errorf("drift item %+v", item)
	}
	if b := item.Blame; b.User != "alice" || b.Client != "kubectl" || b.SourceIP == "" || b.Verb != "patch" || b.Subresource != "scale" {
		t.Errorf("blame %+v, want alice with kubectl patching statefulsets/scale", *b)
	}

	// The drift and the deployment are vigil events; the deployment is a chart marker.
	waitFor(t, "drift and deployment events", 30*time.Second, func() (bool, string) {
		b, code := s.get(t, "/api/events?range=1h&source=vigil/drift,vigil/deploy&limit=50")
		var evs []struct {
			Source, Reason, Message, Name string
			Marker                        bool
			Tags                          map[string]string
		}
		if code != 200 || json.Unmarshal(b, &evs) != nil {
			return false, fmt.Sprintf("%d %s", code, b)
		}
		drift, deployed := false, false
		for _, e := range evs {
			drift = drift || (e.Reason == "DriftDetected" && e.Name == "vigil-server" && e.Tags["user"] == "alice" && strings.Contains(e.Message, "spec.replicas"))
			deployed = deployed || (e.Reason == "Deployed" && e.Marker && e.Tags["revision"] == "1")
		}
		return drift && deployed, string(b)
	})

	// The Automation page shows the release, the agents and the drift with alice's name.
	br := openBrowser(t, s)
	br.open("/automation", ".drift-item[data-name=\"vigil-server\"]")
	if u := br.waitText(`.drift-item[data-name="vigil-server"] .drift-user`, 30*time.Second, func(s string) bool { return s != "" }); u != "alice" {
		t.Errorf("page names %q as the author of the drift", u)
	}
	if cl := br.text(`.drift-item[data-name="vigil-server"] .drift-client`); cl != "kubectl" {
		t.Errorf("page shows client %q", cl)
	}
	if p := br.text(`.drift-item[data-name="vigil-server"] .drift-change`); !strings.Contains(p, "spec.replicas") {
		t.Errorf("page shows change %q", p)
	}
	if v := br.text("#automation-version"); v != "0.1.0" {
		t.Errorf("installed version shown as %q", v)
	}
	br.shot("automation.png")
	if br.waitCount(`.agent-row`, 30*time.Second, func(n int) bool { return n == len(nodes) }); br.count(`.agent-row[data-healthy="true"]`) != len(nodes) {
		b, _ := s.get(t, "/api/automation/status")
		t.Errorf("agents not all healthy on the page; status: %s", b)
	}
	if vals := br.text("#automation-values"); !strings.Contains(vals, "vigil-e2e") || strings.Contains(vals, s.password) {
		t.Errorf("values shown: %.300s", vals)
	}

	// 3. Upgrade with a changed value: the plan shows it (and puts the replicas back), then applies.
	out, err = vigil("upgrade", "--yes", "--set", "server.retention.logs=72h")
	if err != nil {
		t.Fatalf("vigil upgrade: %v", err)
	}
	for _, want := range []string{"Plan: upgrade release vigil in namespace vigil from revision 1", "server.retention.logs: (unset) → \"72h\"",
		"~ StatefulSet/vigil/vigil-server", "spec.replicas: 2 → 1",
		`spec.template.spec.containers[name=server].env[name=VIGIL_LOGS_RETENTION].value: "168h" → "72h"`, "revision 2 deployed"} {
		if !strings.Contains(out, want) {
			t.Errorf("upgrade output lacks %q", want)
		}
	}
	sts, err = admin.AppsV1().StatefulSets("vigil").Get(ctx, "vigil-server", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *sts.Spec.Replicas != 1 || !hasEnv(sts.Spec.Template.Spec.Containers[0].Env, "VIGIL_LOGS_RETENTION", "72h") {
		t.Errorf("after upgrade: replicas %d env %v", *sts.Spec.Replicas, sts.Spec.Template.Spec.Containers[0].Env)
	}
	// Earlier values are kept (the storage class), and the page lists both deployments.
	if sc := sts.Spec.VolumeClaimTemplates[0].Spec.StorageClassName; sc == nil || *sc != "vigil-e2e" {
		t.Errorf("upgrade lost the storage class: %v", sc)
	}
	br.open("/automation", `.deploy-row[data-revision="2"]`)
	// The rollout put the replicas back: the page no longer shows drift.
	br.waitCount("#automation-no-drift", 30*time.Second, func(n int) bool { return n == 1 })
	if n := br.count(".drift-item"); n != 0 {
		t.Errorf("page shows %d drifted objects after the upgrade", n)
	}
	br.shot("automation-upgraded.png")

	// An upgrade whose agents cannot become ready is rolled back.
	out, err = vigil("upgrade", "--yes", "--set", "agent.resources.requests.cpu=100", "--set", "agent.resources.limits.cpu=100", "--timeout", "25s")
	// Helm reports "has been rolled back", or, when the rollback's own wait times out on this
	// loaded test machine, "while rolling back"; the agents' spec below shows it happened.
	if err == nil || !(strings.Contains(out, "has been rolled back") || strings.Contains(out, "rolling back")) || !strings.Contains(out, "waiting: ") {
		t.Errorf("unhealthy upgrade: err=%v", err)
	}
	waitFor(t, "the agents back on their last good spec", 90*time.Second, func() (bool, string) {
		ds, err := admin.AppsV1().DaemonSets("vigil").Get(ctx, "vigil-agent", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		cpu := ds.Spec.Template.Spec.Containers[0].Resources.Requests.Cpu().String()
		return cpu == "50m" && ds.Status.NumberReady == int32(len(nodes)) && ds.Status.UpdatedNumberScheduled == int32(len(nodes)),
			fmt.Sprintf("cpu %s, %d ready, %d updated", cpu, ds.Status.NumberReady, ds.Status.UpdatedNumberScheduled)
	})
	if out, err = vigil("diff"); err != nil || !strings.Contains(out, "No changes") {
		t.Errorf("after the rollback the release and the cluster differ: %v", err)
	}

	// Drift against a manifests directory and a Git checkout of it: alice edits a ConfigMap.
	manifests := t.TempDir()
	if err := os.MkdirAll(filepath.Join(manifests, "k8s"), 0o755); err != nil {
		t.Fatal(err)
	}
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-settings\ndata:\n  mode: safe\n  level: info\n"
	if err := os.WriteFile(filepath.Join(manifests, "k8s", "settings.yaml"), []byte(cm), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(ctx, []byte(cm)); err != nil {
		t.Fatal(err)
	}
	rb.Namespace = "default"
	if _, err := admin.RbacV1().RoleBindings("default").Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	edit := exec.CommandContext(ctx, filepath.Join(c.BinDir, "kubectl"), "--kubeconfig", aliceKubeconfig,
		"-n", "default", "patch", "configmap", "app-settings", "-p", `{"data":{"mode":"debug"}}`)
	if b, err := edit.CombinedOutput(); err != nil {
		t.Fatalf("kubectl patch as alice: %v: %s", err, b)
	}
	for _, g := range [][]string{{"git", "init", "-q", "-b", "main"}, {"git", "add", "."},
		{"git", "-c", "user.name=ops", "-c", "user.email=ops@example.com", "commit", "-qm", "settings"}} {
		cmd := exec.Command(g[0], g[1:]...)
		cmd.Dir = manifests
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", g, err, b)
		}
	}
	for _, src := range [][]string{{"--manifests", filepath.Join(manifests, "k8s")}, {"--git", manifests, "--ref", "main", "--path", "k8s"}} {
		waitFor(t, "drift of "+src[0], 60*time.Second, func() (bool, string) {
			out, err := vigil(append([]string{"drift", "k8s", "-n", "default", "--server-url", s.url, "--token", s.apiToken}, src...)...)
			return err == nil && strings.Contains(out, "1 objects checked, 1 drifted") && strings.Contains(out, "~ ConfigMap/default/app-settings") &&
				strings.Contains(out, `data.mode: desired "safe", live "debug"`) && strings.Contains(out, "changed by alice") && !strings.Contains(out, "data.level"), out
		})
	}

	// 4. Uninstall removes everything install created.
	out, err = vigil("uninstall", "--yes")
	if err != nil {
		t.Fatalf("vigil uninstall: %v", err)
	}
	if !strings.Contains(out, "- PersistentVolumeClaim/vigil/data-vigil-server-0") || !strings.Contains(out, "- Namespace/vigil") {
		t.Errorf("uninstall plan lacks the data volume or the namespace")
	}
	waitFor(t, "everything removed", 2*time.Minute, func() (bool, string) {
		left := leftovers(ctx, admin)
		return len(left) == 0, strings.Join(left, ", ")
	})
}

func hasEnv(env []corev1.EnvVar, name, value string) bool {
	for _, e := range env {
		if e.Name == name {
			return e.Value == value
		}
	}
	return false
}

// leftovers lists what of a vigil install is still in the cluster.
func leftovers(ctx context.Context, cs kubernetes.Interface) []string {
	var left []string
	if _, err := cs.CoreV1().Namespaces().Get(ctx, "vigil", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		left = append(left, "namespace vigil")
	}
	sel := metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=vigil"}
	if l, err := cs.RbacV1().ClusterRoles().List(ctx, sel); err != nil || len(l.Items) > 0 {
		left = append(left, "cluster roles")
	}
	if l, err := cs.RbacV1().ClusterRoleBindings().List(ctx, sel); err != nil || len(l.Items) > 0 {
		left = append(left, "cluster role bindings")
	}
	if l, err := cs.CoreV1().PersistentVolumeClaims("").List(ctx, sel); err != nil || len(l.Items) > 0 {
		left = append(left, "volume claims")
	}
	if l, err := cs.CoreV1().Pods("").List(ctx, sel); err != nil || len(l.Items) > 0 {
		left = append(left, "pods")
	}
	if l, err := cs.CoreV1().Secrets("").List(ctx, metav1.ListOptions{LabelSelector: "owner=helm,name=vigil"}); err != nil || len(l.Items) > 0 {
		left = append(left, "helm release records")
	}
	return left
}

// userKubeconfig writes a kubeconfig for a user authenticated by a client
// certificate that the cluster CA signs, so the audit log names that user.
func userKubeconfig(t *testing.T, c *cluster.Cluster, user, group string) string {
	t.Helper()
	keyPEM, err := os.ReadFile(filepath.Join(c.Dir, "pki", "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(c.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := pem.Decode(keyPEM)
	cb, _ := pem.Decode(caPEM)
	if kb == nil || cb == nil {
		t.Fatal("cluster CA files are not PEM")
	}
	caKey, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		t.Fatalf("CA key: %v", err)
	}
	caCert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: user, Organization: []string{group}},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	b64 := func(typ string, der []byte) string {
		return base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: %s
  user:
    client-certificate-data: %s
    client-key-data: %s
contexts:
- name: test
  context: {cluster: test, user: %s}
current-context: test
`, c.Server, base64.StdEncoding.EncodeToString(caPEM), user, b64("CERTIFICATE", der), b64("EC PRIVATE KEY", kder), user)
	path := filepath.Join(t.TempDir(), user+".kubeconfig")
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAutomationIaC runs the pipeline's offline gates with the real binary:
// `vigil scan iac` passes the EKS module without a high finding and fails the
// study's unencrypted state backend; `vigil drift terraform` lists resources
// changed outside Terraform from a plan's JSON.
func TestAutomationIaC(t *testing.T) {
	root := filepath.Join("..", "..")
	run := func(args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(vigilBin, args...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		t.Logf("$ vigil %s (exit %d)\n%s", strings.Join(args, " "), code, out)
		return string(out), code
	}

	out, code := run("scan", "iac", "--severity", "high", filepath.Join(root, "deploy", "terraform", "aws-eks"))
	if code != 0 {
		t.Errorf("scan iac of the EKS module exits %d", code)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "HIGH") || strings.HasPrefix(l, "CRITICAL") {
			t.Errorf("high finding in the EKS module: %s", l)
		}
	}
	if !strings.Contains(out, "passed") {
		t.Errorf("scan of the module evaluated nothing")
	}

	out, code = run("scan", "iac", "--severity", "high", filepath.Join("testdata", "insecure-backend"))
	if code == 0 || !strings.Contains(out, "encrypt") || !strings.Contains(out, "HIGH") {
		t.Errorf("the unencrypted state backend was not flagged (exit %d)", code)
	}

	plan := filepath.Join(root, "internal", "deploy", "testdata", "plan-drift.json")
	out, code = run("drift", "terraform", plan)
	if code != 0 || !strings.Contains(out, "3 resource(s) changed outside Terraform") ||
		!strings.Contains(out, "~ module.eks.aws_eks_node_group.this (update)") || !strings.Contains(out, "scaling_config[0].max_size: 6 → 12") {
		t.Errorf("drift terraform output (exit %d)", code)
	}
	if strings.Contains(out, "new-secret") {
		t.Error("drift terraform shows a sensitive value")
	}
	if _, code = run("drift", "terraform", "--detailed-exitcode", plan); code != 2 {
		t.Errorf("--detailed-exitcode with drift exits %d, want 2", code)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"resource_drift": [}`), 0o644)
	if out, code = run("drift", "terraform", bad); code != 1 || !strings.Contains(out, "terraform show -json") {
		t.Errorf("malformed plan: exit %d", code)
	}
}
