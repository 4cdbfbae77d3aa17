package compliance

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

func load(t *testing.T) *Engine {
	t.Helper()
	e, err := Load(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func manifests(t *testing.T, docs ...string) []Manifest {
	t.Helper()
	var out []Manifest
	for _, d := range docs {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(d), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, Manifest{Object: m})
	}
	return out
}

const insecureDeploy = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: bad, namespace: default}
spec:
  template:
    spec:
      hostPID: true
      volumes:
      - name: root
        hostPath: {path: /}
      containers:
      - name: app
        image: nginx
        securityContext: {privileged: true, runAsUser: 0, capabilities: {add: [SYS_ADMIN]}}
        env:
        - name: PW
          valueFrom: {secretKeyRef: {name: db, key: pw}}
`

const secureDeploy = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: good, namespace: shop}
spec:
  template:
    spec:
      serviceAccountName: good
      automountServiceAccountToken: false
      securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: app
        image: nginx
        resources: {limits: {cpu: 100m, memory: 64Mi}}
        securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
`

const adminBinding = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: default-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: ServiceAccount, name: default, namespace: default}
`

func failedControls(r *Result, name string) map[string]Finding {
	out := map[string]Finding{}
	for _, f := range r.Findings {
		if f.Name == name && f.Status == "fail" {
			out[f.ControlID] = f
		}
	}
	return out
}

func TestInsecureAndSecureWorkloads(t *testing.T) {
	e := load(t)
	objs, err := KubeObjects(manifests(t, insecureDeploy, secureDeploy, adminBinding))
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.Evaluate(context.Background(), objs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	bad := failedControls(r, "bad")
	want := map[string]string{
		"VGL-K8S-001": "spec.template.spec.containers[0].securityContext.privileged",
		"VGL-K8S-002": "spec.template.spec.hostPID",
		"VGL-K8S-006": "spec.template.spec.containers[0].securityContext.runAsUser",
		"VGL-K8S-008": "spec.template.spec.containers[0].securityContext.capabilities.add[0]",
		"VGL-K8S-010": "spec.template.spec.volumes[0].hostPath",
		"VGL-K8S-012": "spec.template.spec.containers[0].resources.limits.",
		"VGL-K8S-015": "spec.template.spec.serviceAccountName",
		"VGL-K8S-016": "spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef",
		"VGL-K8S-018": "spec.template.spec.serviceAccountName",
	}
	for id, path := range want {
		f, ok := bad[id]
		if !ok {
			t.Errorf("bad deployment does not fail %s; failed: %v", id, keys(bad))
			continue
		}
		if !strings.HasPrefix(f.Path, path) {
			t.Errorf("%s evidence path %q, want %q", id, f.Path, path)
		}
	}
	if good := failedControls(r, "good"); len(good) > 0 {
		for _, f := range good {
			t.Errorf("good deployment fails %s: %s (%s)", f.ControlID, f.Message, f.Path)
		}
	}
	if f, ok := failedControls(r, "default-admin")["VGL-K8S-101"]; !ok || f.Path != "subjects[0]" {
		t.Errorf("cluster-admin binding of default SA: %+v", failedControls(r, "default-admin"))
	}
	if _, ok := failedControls(r, "default-admin")["VGL-K8S-102"]; !ok {
		t.Errorf("default SA binding not reported")
	}
	scores := e.Scores(r)
	if len(scores) == 0 {
		t.Fatal("no scores")
	}
	for _, s := range scores {
		if s.Score <= 0 || s.Score >= 100 || s.Failed == 0 {
			t.Errorf("score %s = %v (passed %d failed %d): want between 0 and 100", s.ID, s.Score, s.Passed, s.Failed)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestExceptions(t *testing.T) {
	e := load(t)
	objs, err := KubeObjects(manifests(t, insecureDeploy))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	x := Exception{Control: "VGL-K8S-002", Namespace: "default", Name: "b*", Reason: "node agent needs it", Owner: "ops", Expires: now.Add(time.Hour)}
	if err := x.Validate(e, now); err != nil {
		t.Fatal(err)
	}
	expired := x
	expired.Control = "VGL-K8S-010"
	expired.Expires = now.Add(-time.Second)
	if err := expired.Validate(e, now); err == nil {
		t.Error("expired exception validated")
	}
	r, err := e.Evaluate(context.Background(), objs, Options{Exceptions: []Exception{x, expired}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range r.Findings {
		if f.ControlID == "VGL-K8S-002" && f.Exception == nil {
			t.Error("hostPID finding not excepted")
		}
		if f.ControlID == "VGL-K8S-010" && f.Exception != nil {
			t.Error("expired exception applied")
		}
	}
	if tl := r.Controls["VGL-K8S-002"]; tl.Excepted != 1 || tl.Failed != 0 {
		t.Errorf("tally %+v", tl)
	}
}

func TestSelectRejectsTypos(t *testing.T) {
	e := load(t)
	if _, err := e.Select([]string{"cis-k8"}, nil); err == nil || !strings.Contains(err.Error(), `unknown framework "cis-k8"`) {
		t.Errorf("framework typo: %v", err)
	}
	_, err := e.Select(nil, []string{"VGL-K8S-01"})
	if err == nil || !strings.Contains(err.Error(), "did you mean") {
		t.Errorf("control typo: %v", err)
	}
	sel, err := e.Select([]string{"pss-baseline"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !sel["VGL-K8S-001"] || sel["VGL-K8S-006"] {
		t.Errorf("pss-baseline selection %v", sel)
	}
}

func TestEveryControlIsComplete(t *testing.T) {
	e := load(t)
	if len(e.Controls()) < 25 {
		t.Fatalf("only %d controls", len(e.Controls()))
	}
	for _, c := range e.Controls() {
		if c.Rationale == "" || c.Remediation == "" {
			t.Errorf("%s lacks rationale or remediation", c.ID)
		}
		if len(c.CIS)+len(c.CISEKS)+len(c.NSA) == 0 && c.PSS == "" {
			t.Errorf("%s maps to no framework", c.ID)
		}
	}
}

func TestCustomPolicies(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("latest.rego", `package vigil.controls.acme_latest
import data.vigil.lib
metadata := {"id": "ACME-1", "title": "No :latest images", "severity": "low", "rationale": "r", "remediation": "pin", "targets": ["workload"], "nsa": ["Building secure container images"]}
deny contains {"msg": sprintf("container %q uses a latest tag", [x.c.name]), "path": concat(".", [x.path, "image"])} if {
	some x in lib.containers
	endswith(x.c.image, ":latest")
}
`)
	e, err := Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	objs, _ := KubeObjects(manifests(t, `{"kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"a","image":"x:latest"}]}}`))
	r, err := e.Evaluate(context.Background(), objs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := failedControls(r, "p")["ACME-1"]; !ok || f.Path != "spec.containers[0].image" {
		t.Errorf("custom control: %+v", failedControls(r, "p"))
	}
	c, _ := e.Control("ACME-1")
	if !c.Custom {
		t.Error("custom flag not set")
	}

	write("bad.rego", `package vigil.controls.bad
metadata := {"id": "BAD-1", "title": "x", "severity": "urgent", "targets": ["workload"]}
deny contains {"msg": "x"} if false
`)
	if _, err := Load(context.Background(), dir); err == nil || !strings.Contains(err.Error(), `severity "urgent"`) {
		t.Errorf("bad severity accepted: %v", err)
	}
	os.Remove(filepath.Join(dir, "bad.rego"))
	write("syntax.rego", "package vigil.controls.s\ndeny contains x if {")
	if _, err := Load(context.Background(), dir); err == nil || !strings.Contains(err.Error(), "syntax.rego") {
		t.Errorf("syntax error accepted: %v", err)
	}
	if _, err := Load(context.Background(), t.TempDir()); err == nil {
		t.Error("empty custom dir accepted")
	}
}

func TestNodeControls(t *testing.T) {
	e := load(t)
	bad, err := NodeObject(NodeInput{Node: "n1", Files: []NodeFile{{Role: "kubelet-config", Path: "/var/lib/kubelet/config.yaml", Mode: 0o644, UID: 1000}},
		Kubelet: KubeletSettings{AnonymousAuth: true, AuthorizationMode: "AlwaysAllow", ReadOnlyPort: 10255,
			Sources: map[string]string{"anonymousAuth": "/var/lib/kubelet/config.yaml: authentication.anonymous.enabled"}}})
	if err != nil {
		t.Fatal(err)
	}
	good, _ := NodeObject(NodeInput{Node: "n2", Files: []NodeFile{{Role: "kubelet-config", Path: "/var/lib/kubelet/config.yaml", Mode: 0o600}},
		Kubelet: KubeletSettings{AuthorizationMode: "Webhook", ClientCAFile: "/etc/kubernetes/pki/ca.crt"}})
	r, err := e.Evaluate(context.Background(), []Object{bad, good}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := failedControls(r, "n1")
	for _, id := range []string{"VGL-NODE-001", "VGL-NODE-002", "VGL-NODE-003"} {
		if _, ok := f[id]; !ok {
			t.Errorf("n1 does not fail %s", id)
		}
	}
	if f["VGL-NODE-003"].Path == "" {
		t.Error("no evidence for kubelet settings")
	}
	if g := failedControls(r, "n2"); len(g) > 0 {
		t.Errorf("good node fails %v", keys(g))
	}
}

func TestRBACAndNamespaceControls(t *testing.T) {
	e := load(t)
	objs, err := KubeObjects(manifests(t,
		`{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"ci"},"rules":[{"apiGroups":["*"],"resources":["secrets"],"verbs":["get","list"]}]}`,
		`{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"edit","labels":{"kubernetes.io/bootstrapping":"rbac-defaults"}},"rules":[{"apiGroups":[""],"resources":["secrets"],"verbs":["*"]}]}`,
		`{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"one","namespace":"a"},"rules":[{"apiGroups":[""],"resources":["secrets"],"resourceNames":["db"],"verbs":["get"]}]}`,
		`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"open"}}`,
		`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"closed","labels":{"pod-security.kubernetes.io/enforce":"restricted"}}}`,
		`{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"deny","namespace":"closed"},"spec":{"podSelector":{}}}`,
	))
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.Evaluate(context.Background(), objs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ci := failedControls(r, "ci")
	if ci["VGL-K8S-103"].Path != "rules[0].apiGroups" || ci["VGL-K8S-104"].Path != "rules[0]" {
		t.Errorf("ci role: %+v", ci)
	}
	for _, name := range []string{"edit", "one", "closed"} {
		if f := failedControls(r, name); len(f) > 0 {
			t.Errorf("%s fails %v", name, keys(f))
		}
	}
	open := failedControls(r, "open")
	if _, ok := open["VGL-K8S-201"]; !ok {
		t.Error("namespace without network policy passes")
	}
	if _, ok := open["VGL-K8S-202"]; !ok {
		t.Error("namespace without pod security label passes")
	}
}

// Terraform controls count only on the blocks they concern.
func TestTerraformControlsApplyToTheirBlocks(t *testing.T) {
	e := load(t)
	bucket, err := NewObject(TargetTerraform, "aws_s3_bucket", "", "logs", map[string]any{"block": "resource", "type": "aws_s3_bucket", "name": "logs", "source": "", "body": map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.Evaluate(context.Background(), []Object{bucket}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Controls) != 0 || len(r.Findings) != 0 {
		t.Errorf("unrelated block counted: %+v %+v", r.Controls, r.Findings)
	}
}
