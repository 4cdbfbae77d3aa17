package deploy

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const chartDir = "../../deploy/helm/vigil"

func TestChartLint(t *testing.T) {
	if errs := Lint(chartDir, nil); len(errs) > 0 {
		t.Fatalf("helm lint (strict) on defaults: %v", errs)
	}
	vals := map[string]any{
		"tls":          map[string]any{"enabled": true, "secretName": "vigil-tls"},
		"smtp":         map[string]any{"host": "smtp.example.com", "password": "pw", "from": "vigil@example.com"},
		"auditWebhook": map[string]any{"enabled": true},
	}
	if errs := Lint(chartDir, vals); len(errs) > 0 {
		t.Fatalf("helm lint with TLS, SMTP and audit webhook: %v", errs)
	}
	// The linter must catch a broken template, or it proves nothing.
	root, err := WriteEmbeddedChart(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "templates", "broken.yaml"), []byte("kind: ConfigMap\nmetadata:\n  name: {{ .Values.nope.missing }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if errs := Lint(root, nil); len(errs) == 0 {
		t.Fatal("lint accepted a broken template")
	}
}

func TestEmbeddedChartMatchesDirectory(t *testing.T) {
	dir := t.TempDir()
	root, err := WriteEmbeddedChart(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"Chart.yaml", "values.yaml", "templates/_helpers.tpl", "templates/server.yaml", "templates/agent.yaml"} {
		want, err := os.ReadFile(filepath.Join(chartDir, f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatalf("embedded chart lacks %s: %v", f, err)
		}
		if string(got) != string(want) {
			t.Errorf("embedded %s differs from the directory", f)
		}
	}
	if errs := Lint(root, nil); len(errs) > 0 {
		t.Fatalf("lint of embedded chart: %v", errs)
	}
}

func render(t *testing.T, vals map[string]any) map[string]*unstructured.Unstructured {
	t.Helper()
	ch, err := LoadChart("")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Template(context.Background(), ch, vals, "vigil", "monitoring")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := ParseManifests([]byte(m))
	if err != nil {
		t.Fatalf("rendered manifest does not parse: %v\n%s", err, m)
	}
	out := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		out[o.GetKind()+"/"+o.GetName()] = o
	}
	return out
}

func TestTemplateDefaults(t *testing.T) {
	objs := render(t, nil)
	for _, k := range []string{
		"StatefulSet/vigil-server", "Service/vigil", "DaemonSet/vigil-agent", "Secret/vigil",
		"ServiceAccount/vigil-server", "ServiceAccount/vigil-agent",
		"ClusterRole/vigil-server", "ClusterRoleBinding/vigil-server", "Role/vigil-server", "RoleBinding/vigil-server",
		"ClusterRole/vigil-agent", "ClusterRoleBinding/vigil-agent",
		"NetworkPolicy/vigil-server", "NetworkPolicy/vigil-agent",
	} {
		if objs[k] == nil {
			t.Errorf("missing %s (have %v)", k, keys(objs))
		}
	}
	if objs["ConfigMap/vigil-audit-webhook"] != nil {
		t.Error("audit webhook ConfigMap rendered although disabled")
	}
	for k, o := range objs {
		if ns := o.GetNamespace(); !strings.HasPrefix(k, "Cluster") && ns != "monitoring" {
			t.Errorf("%s in namespace %q, want the release namespace", k, ns)
		}
	}

	sts := objs["StatefulSet/vigil-server"]
	vct, _, _ := unstructured.NestedSlice(sts.Object, "spec", "volumeClaimTemplates")
	if len(vct) != 1 {
		t.Fatalf("server has %d volume claim templates, want 1", len(vct))
	}
	ctr := container(t, sts)
	if _, ok, _ := unstructured.NestedMap(ctr, "resources", "limits"); !ok {
		t.Error("server container has no limits")
	}
	if ro, _, _ := unstructured.NestedBool(ctr, "securityContext", "readOnlyRootFilesystem"); !ro {
		t.Error("server root filesystem is writable")
	}

	ds := objs["DaemonSet/vigil-agent"]
	actr := container(t, ds)
	mounts, _, _ := unstructured.NestedSlice(actr, "volumeMounts")
	readOnly := map[string]bool{}
	for _, m := range mounts {
		mm := m.(map[string]any)
		readOnly[mm["mountPath"].(string)] = mm["readOnly"] == true
	}
	for _, p := range []string{"/host/var/log/pods", "/host/proc", "/host/sys"} {
		if !readOnly[p] {
			t.Errorf("agent mount %s is missing or writable (mounts %v)", p, readOnly)
		}
	}
	tols, _, _ := unstructured.NestedSlice(ds.Object, "spec", "template", "spec", "tolerations")
	if len(tols) == 0 || tols[0].(map[string]any)["operator"] != "Exists" {
		t.Errorf("agent does not tolerate every taint: %v", tols)
	}
	if _, ok, _ := unstructured.NestedMap(actr, "resources", "requests"); !ok {
		t.Error("agent has no resource requests")
	}

	// Generated secrets: present, random, long enough.
	sec := objs["Secret/vigil"]
	pw, _, _ := unstructured.NestedString(sec.Object, "data", "admin-password")
	tok, _, _ := unstructured.NestedString(sec.Object, "data", "agent-token")
	for name, v := range map[string]string{"admin-password": pw, "agent-token": tok} {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(b) < 32 {
			t.Errorf("generated %s is %q (%v)", name, b, err)
		}
	}
	again := render(t, nil)["Secret/vigil"]
	pw2, _, _ := unstructured.NestedString(again.Object, "data", "admin-password")
	if pw2 == pw {
		t.Error("two renders generated the same admin password")
	}

	// Least privilege: the server and the agent only read.
	for _, role := range []string{"ClusterRole/vigil-server", "Role/vigil-server", "ClusterRole/vigil-agent"} {
		rules, _, _ := unstructured.NestedSlice(objs[role].Object, "rules")
		for _, r := range rules {
			verbs, _, _ := unstructured.NestedStringSlice(r.(map[string]any), "verbs")
			for _, v := range verbs {
				if !slices.Contains([]string{"get", "list", "watch"}, v) {
					t.Errorf("%s grants %q", role, v)
				}
			}
			res, _, _ := unstructured.NestedStringSlice(r.(map[string]any), "resources")
			if role == "ClusterRole/vigil-server" && slices.Contains(res, "secrets") {
				t.Errorf("%s reads secrets cluster-wide", role)
			}
		}
	}
}

func TestTemplateValues(t *testing.T) {
	objs := render(t, map[string]any{
		"server": map[string]any{
			"adminPassword": "given-pw",
			"retention":     map[string]any{"logs": "72h"},
			"persistence":   map[string]any{"storageClass": "fast", "size": "5Gi"},
			"tolerations":   []any{map[string]any{"key": "kwok.x-k8s.io/node", "operator": "Equal", "value": "fake", "effect": "NoSchedule"}},
		},
		"agent":         map[string]any{"token": "given-token"},
		"tls":           map[string]any{"enabled": true, "secretName": "vigil-tls"},
		"smtp":          map[string]any{"host": "smtp.example.com", "port": 2525, "password": "smtp-pw", "from": "v@example.com"},
		"remoteStorage": map[string]any{"logs": map[string]any{"url": "http://victorialogs:9428"}},
		"auditWebhook":  map[string]any{"enabled": true},
	})
	sec := objs["Secret/vigil"]
	for k, want := range map[string]string{"admin-password": "given-pw", "agent-token": "given-token", "smtp-password": "smtp-pw"} {
		v, _, _ := unstructured.NestedString(sec.Object, "data", k)
		if b, _ := base64.StdEncoding.DecodeString(v); string(b) != want {
			t.Errorf("secret %s = %q, want %q", k, b, want)
		}
	}
	sts := objs["StatefulSet/vigil-server"]
	env := envOf(t, container(t, sts))
	for k, want := range map[string]string{
		"VIGIL_LOGS_RETENTION": "72h", "VIGIL_TLS_CERT": "/tls/tls.crt", "VIGIL_SMTP_HOST": "smtp.example.com",
		"VIGIL_SMTP_PORT": "2525", "VIGIL_LOGS_REMOTE_URL": "http://victorialogs:9428",
	} {
		if env[k] != want {
			t.Errorf("server env %s = %q, want %q", k, env[k], want)
		}
	}
	vct, _, _ := unstructured.NestedSlice(sts.Object, "spec", "volumeClaimTemplates")
	sc, _, _ := unstructured.NestedString(vct[0].(map[string]any), "spec", "storageClassName")
	if sc != "fast" {
		t.Errorf("storage class %q", sc)
	}
	if probe, _, _ := unstructured.NestedString(container(t, sts), "readinessProbe", "httpGet", "scheme"); probe != "HTTPS" {
		t.Errorf("readiness probe scheme %q with TLS", probe)
	}
	tols, _, _ := unstructured.NestedSlice(sts.Object, "spec", "template", "spec", "tolerations")
	if len(tols) != 1 {
		t.Errorf("server tolerations %v", tols)
	}
	cm := objs["ConfigMap/vigil-audit-webhook"]
	if cm == nil {
		t.Fatal("audit webhook ConfigMap missing")
	}
	kc, _, _ := unstructured.NestedString(cm.Object, "data", "audit-webhook.kubeconfig")
	if !strings.Contains(kc, "https://vigil.monitoring.svc:8080/api/v1/audit/webhook") {
		t.Errorf("webhook kubeconfig:\n%s", kc)
	}
	args, _, _ := unstructured.NestedStringSlice(container(t, objs["DaemonSet/vigil-agent"]), "args")
	if !slices.Contains(args, "--server-url=https://vigil.monitoring.svc:8080") || !slices.Contains(args, "--ca-file=/tls/ca.crt") {
		t.Errorf("agent args %v", args)
	}
}

func TestParseValues(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "v.yaml")
	os.WriteFile(f, []byte("server:\n  retention:\n    logs: 24h\n    metrics: 48h\n"), 0o644)
	v, err := ParseValues([]string{f}, []string{"server.retention.logs=72h", "agent.enabled=false"}, []string{"image.tag=1.0"})
	if err != nil {
		t.Fatal(err)
	}
	r := v["server"].(map[string]any)["retention"].(map[string]any)
	if r["logs"] != "72h" || r["metrics"] != "48h" {
		t.Errorf("merged retention %v", r)
	}
	if v["agent"].(map[string]any)["enabled"] != false || v["image"].(map[string]any)["tag"] != "1.0" {
		t.Errorf("values %v", v)
	}
	os.WriteFile(f, []byte("a: [unclosed"), 0o644)
	if _, err := ParseValues([]string{f}, nil, nil); err == nil {
		t.Error("malformed values file accepted")
	}
	if _, err := ParseValues(nil, []string{"novalue"}, nil); err == nil {
		t.Error("malformed --set accepted")
	}
}

func container(t *testing.T, o *unstructured.Unstructured) map[string]any {
	t.Helper()
	cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
	if len(cs) != 1 {
		t.Fatalf("%s has %d containers", o.GetName(), len(cs))
	}
	return cs[0].(map[string]any)
}

func envOf(t *testing.T, c map[string]any) map[string]string {
	env, _, _ := unstructured.NestedSlice(c, "env")
	out := map[string]string{}
	for _, e := range env {
		em := e.(map[string]any)
		if v, ok := em["value"].(string); ok {
			out[em["name"].(string)] = v
		}
	}
	return out
}

func keys[V any](m map[string]V) []string { return sortedKeys(m) }
