package e2e

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"vigil/test/cluster"
	"vigil/test/smtptest"
)

// Insecure workloads: privileged, host path, root, no limits, and the
// namespace's default service account bound to cluster-admin.
const insecureManifests = `
apiVersion: v1
kind: Namespace
metadata: {name: insecure-apps}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: node-agent, namespace: insecure-apps}
spec:
  replicas: 1
  selector: {matchLabels: {app: node-agent}}
  template:
    metadata: {labels: {app: node-agent}}
    spec:
      containers:
      - name: agent
        image: busybox:1.36
        securityContext: {privileged: true, runAsUser: 0}
        volumeMounts: [{name: host, mountPath: /host}]
      volumes:
      - name: host
        hostPath: {path: /}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: insecure-apps-default-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: ServiceAccount, name: default, namespace: insecure-apps}
`

// The same workload hardened, as in secure-apps from the start.
const hardenedSpec = `
    spec:
      serviceAccountName: %[1]s
      automountServiceAccountToken: false
      securityContext: {runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: agent
        image: busybox:1.36
        resources: {limits: {cpu: 100m, memory: 64Mi}, requests: {cpu: 10m, memory: 16Mi}}
        securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
        volumeMounts: [{name: scratch, mountPath: /tmp}]
      volumes:
      - name: scratch
        emptyDir: {}
`

func hardenedDeployment(ns, name, sa string) string {
	return fmt.Sprintf(`
apiVersion: v1
kind: ServiceAccount
metadata: {name: %[3]s, namespace: %[1]s}
automountServiceAccountToken: false
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: %[2]s, namespace: %[1]s}
spec:
  replicas: 1
  selector: {matchLabels: {app: %[2]s}}
  template:
    metadata: {labels: {app: %[2]s}}
`, ns, name, sa) + fmt.Sprintf(hardenedSpec, sa)
}

const secureNamespace = `
apiVersion: v1
kind: Namespace
metadata:
  name: secure-apps
  labels: {pod-security.kubernetes.io/enforce: restricted}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: default, namespace: secure-apps}
automountServiceAccountToken: false
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: secure-apps}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
`

type compFinding struct {
	Control   string `json:"control"`
	Severity  string `json:"severity"`
	Status    string `json:"status"`
	Message   string `json:"message"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Path      string `json:"path"`
	Exception *struct {
		Owner string `json:"owner"`
	} `json:"exception"`
}

func (s *vigilServer) compFindings(t *testing.T, query string) []compFinding {
	t.Helper()
	b, code := s.get(t, "/api/compliance/findings?limit=5000&"+query)
	if code != 200 {
		t.Fatalf("findings %s: %d %s", query, code, b)
	}
	var r struct{ Findings []compFinding }
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r.Findings
}

func (s *vigilServer) compScan(t *testing.T) {
	t.Helper()
	waitFor(t, "compliance evaluation", 60*time.Second, func() (bool, string) {
		b, code := s.post(t, "/api/compliance/scan", "")
		return code == 200, string(b)
	})
}

type compControl struct {
	ID       string   `json:"id"`
	Severity string   `json:"severity"`
	CIS      []string `json:"cis"`
	NSA      []string `json:"nsa"`
	PSS      string   `json:"pss"`
	Failed   int      `json:"failed"`
}

type compSummary struct {
	Scores []struct {
		ID     string  `json:"id"`
		Score  float64 `json:"score"`
		Failed int     `json:"failed"`
	} `json:"scores"`
	Controls []compControl `json:"controls"`
}

// TestCompliance: insecure workloads in a real cluster fail the right CIS,
// NSA-CISA and Pod Security Standards controls with evidence; a hardened
// namespace passes; the agent's node checks arrive; exceptions apply; the
// fixed workloads pass; reports are mailed (HTML + CSV + JSON) with the diff;
// the dashboard shows the scores.
func TestCompliance(t *testing.T) {
	mail := smtptest.Start(t)
	c := cluster.StartForTest(t, cluster.Options{})
	ctx := ctxTimeout(t, 10*time.Minute)
	if err := c.Apply(ctx, []byte(insecureManifests)); err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(ctx, []byte(secureNamespace+"---"+hardenedDeployment("secure-apps", "web", "web"))); err != nil {
		t.Fatal(err)
	}

	s := startServer(t, "--kubeconfig", c.Kubeconfig, "--smtp-host", mail.Host, "--smtp-port", strconv.Itoa(mail.Port),
		"--smtp-tls", "none", "--smtp-from", "vigil@example.com", "--external-url", "http://vigil.example.com")

	// The agent reports this node's kubelet settings: a config file readable
	// by everyone that allows anonymous requests.
	root := t.TempDir()
	kubeletDir := filepath.Join(root, "var/lib/kubelet")
	if err := os.MkdirAll(kubeletDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(kubeletDir, "config.yaml"), []byte("authentication:\n  anonymous:\n    enabled: true\nauthorization:\n  mode: Webhook\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(kubeletDir, "config.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	startAgent(t, s, t.TempDir(), "--node-name", "compliance-node", "--rootfs-path", root, "--pod-logs-root", t.TempDir(), "--host-logs", "")

	waitFor(t, "workloads and node report evaluated", 90*time.Second, func() (bool, string) {
		s.compScan(t)
		fs := s.compFindings(t, "")
		var dep, node bool
		for _, f := range fs {
			dep = dep || f.Name == "node-agent"
			node = node || f.Name == "compliance-node"
		}
		return dep && node, fmt.Sprintf("%d findings, deployment %v, node %v", len(fs), dep, node)
	})

	var sum compSummary
	b, _ := s.get(t, "/api/compliance/summary")
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	controls := map[string]compControl{}
	for _, c := range sum.Controls {
		controls[c.ID] = c
	}

	t.Run("insecure workloads fail the right controls with evidence", func(t *testing.T) {
		byControl := map[string]compFinding{}
		paths := map[string][]string{}
		for _, f := range s.compFindings(t, "namespace=insecure-apps&status=fail") {
			if f.Name == "node-agent" && f.Kind == "Deployment" {
				byControl[f.Control] = f
				paths[f.Control] = append(paths[f.Control], f.Path)
			}
		}
		want := []struct {
			control, path, framework string
		}{
			{"VGL-K8S-001", "spec.template.spec.containers[0].securityContext.privileged", "cis:5.2.2 pss:baseline"},
			{"VGL-K8S-010", "spec.template.spec.volumes[0].hostPath", "cis:5.2.12 pss:baseline"},
			{"VGL-K8S-006", "spec.template.spec.containers[0].securityContext.runAsUser", "cis:5.2.7 pss:restricted"},
			{"VGL-K8S-012", "spec.template.spec.containers[0].resources.limits.cpu", "nsa:resource policies"},
			{"VGL-K8S-018", "spec.template.spec.serviceAccountName", "cis:5.1.1"},
			{"VGL-K8S-015", "spec.template.spec.serviceAccountName", "cis:5.1.5"},
		}
		for _, w := range want {
			_, ok := byControl[w.control]
			if !ok {
				t.Errorf("node-agent does not fail %s", w.control)
				continue
			}
			if !contains(paths[w.control], w.path) {
				t.Errorf("%s evidence %q, want %q", w.control, paths[w.control], w.path)
			}
			ctl := controls[w.control]
			for _, ref := range strings.Split(w.framework, " ") {
				fw, id, _ := strings.Cut(ref, ":")
				switch fw {
				case "cis":
					if !contains(ctl.CIS, id) {
						t.Errorf("%s CIS mappings %v lack %s", w.control, ctl.CIS, id)
					}
				case "pss":
					if ctl.PSS != id {
						t.Errorf("%s PSS %q, want %s", w.control, ctl.PSS, id)
					}
				case "nsa":
					if !strings.Contains(strings.ToLower(strings.Join(ctl.NSA, ";")), id) {
						t.Errorf("%s NSA mappings %v lack %q", w.control, ctl.NSA, id)
					}
				}
			}
		}
		if !strings.Contains(byControl["VGL-K8S-018"].Message, "insecure-apps-default-admin") {
			t.Errorf("cluster-admin evidence does not name the binding: %q", byControl["VGL-K8S-018"].Message)
		}
		var binding bool
		for _, f := range s.compFindings(t, "control=VGL-K8S-101,VGL-K8S-102") {
			if f.Name == "insecure-apps-default-admin" && f.Path == "subjects[0]" {
				binding = true
			}
		}
		if !binding {
			t.Error("the cluster-admin binding of the default service account is not reported")
		}
		if sev := controls["VGL-K8S-001"].Severity; sev != "critical" {
			t.Errorf("privileged severity %q", sev)
		}
	})

	t.Run("scan k8s from a pipeline", func(t *testing.T) {
		cmd := exec.Command(vigilBin, "scan", "k8s", "--kubeconfig", c.Kubeconfig, "-n", "insecure-apps", "-f", "json", "--severity", "critical")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("scan k8s exit: %v, stderr %s", err, errb.String())
		}
		var rep struct{ Findings []compFinding }
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, f := range rep.Findings {
			if f.Namespace != "insecure-apps" && f.Kind != "Namespace" {
				t.Errorf("finding outside the namespace: %+v", f)
			}
			got[f.Control+" "+f.Name] = true
		}
		if !got["VGL-K8S-001 node-agent"] || !got["VGL-K8S-018 node-agent"] {
			t.Errorf("scan k8s findings: %v", got)
		}
	})

	t.Run("hardened namespace passes", func(t *testing.T) {
		for _, f := range s.compFindings(t, "namespace=secure-apps&status=fail") {
			t.Errorf("secure-apps fails %s on %s %s: %s (%s)", f.Control, f.Kind, f.Name, f.Message, f.Path)
		}
		b, _ := s.get(t, "/api/compliance/workloads")
		var wl []struct {
			Namespace, Kind, Name string
			Failed                map[string]int
			Passed                int
		}
		if err := json.Unmarshal(b, &wl); err != nil {
			t.Fatal(err)
		}
		seen := 0
		for _, w := range wl {
			switch w.Namespace + "/" + w.Name {
			case "secure-apps/web":
				seen++
				if w.Kind != "Deployment" || w.Passed < 15 || w.Failed["critical"]+w.Failed["high"]+w.Failed["medium"]+w.Failed["low"] != 0 {
					t.Errorf("web: %+v", w)
				}
			case "insecure-apps/node-agent":
				seen++
				if w.Failed["critical"] < 2 || w.Failed["high"] < 2 {
					t.Errorf("node-agent: %+v", w)
				}
			}
		}
		if seen != 2 {
			t.Errorf("workloads API lacks the test workloads: %s", b)
		}
	})

	t.Run("node checks from the agent", func(t *testing.T) {
		got := map[string]string{}
		for _, f := range s.compFindings(t, "kind=Node") {
			if f.Name == "compliance-node" {
				got[f.Control] += f.Message + "; "
			}
		}
		if !strings.Contains(got["VGL-NODE-001"], "/var/lib/kubelet/config.yaml") || !strings.Contains(got["VGL-NODE-001"], "644") {
			t.Errorf("file permission finding: %q", got["VGL-NODE-001"])
		}
		if !strings.Contains(got["VGL-NODE-003"], "anonymous") {
			t.Errorf("anonymous kubelet finding: %q (all: %v)", got["VGL-NODE-003"], got)
		}
		if !contains(controls["VGL-NODE-001"].CIS, "4.1.9") {
			t.Errorf("node control CIS mapping %v", controls["VGL-NODE-001"].CIS)
		}
		// A report without a node name is refused.
		req := strings.NewReader(`{"node":"","files":[]}`)
		if code := postAgent(t, s, "/api/compliance/nodes", req); code != 400 {
			t.Errorf("empty node report: %d", code)
		}
	})

	t.Run("exceptions", func(t *testing.T) {
		if b, code := s.post(t, "/api/compliance/exceptions", `{"control":"VGL-K8S-013","namespace":"insecure-apps","reason":"legacy agent writes /var","expires":"2099-01-01T00:00:00Z"}`); code != 400 || !strings.Contains(string(b), "owner is required") {
			t.Errorf("exception without owner: %d %s", code, b)
		}
		if b, code := s.post(t, "/api/compliance/exceptions", `{"control":"VGL-K8S-13","owner":"x","reason":"y","expires":"2099-01-01T00:00:00Z"}`); code != 400 || !strings.Contains(string(b), "unknown control") {
			t.Errorf("exception for a misspelled control: %d %s", code, b)
		}
		if b, code := s.post(t, "/api/compliance/exceptions", `{"control":"VGL-K8S-013","namespace":"insecure-apps","name":"node-*","reason":"legacy agent writes /var","owner":"platform-team","expires":"2099-01-01T00:00:00Z"}`); code != 201 {
			t.Fatalf("add exception: %d %s", code, b)
		}
		s.compScan(t)
		ex := s.compFindings(t, "status=excepted&control=VGL-K8S-013")
		if len(ex) != 1 || ex[0].Name != "node-agent" || ex[0].Exception == nil || ex[0].Exception.Owner != "platform-team" {
			t.Errorf("excepted findings: %+v", ex)
		}
		if b, code := s.get(t, "/api/compliance/findings?framework=cis-k8"); code != 400 || !strings.Contains(string(b), "unknown framework") {
			t.Errorf("misspelled framework filter: %d %s", code, b)
		}
	})

	// A weekly schedule, sent now: the first report has everything new.
	b, code := s.post(t, "/api/compliance/report-schedules", `{"name":"Weekly compliance","cadence":"weekly","hour":7,"weekday":1,"recipients":["secops@example.com"]}`)
	if code != 201 {
		t.Fatalf("add schedule: %d %s", code, b)
	}
	var sched struct {
		ID      int64
		NextRun time.Time
	}
	json.Unmarshal(b, &sched)
	if sched.NextRun.Weekday() != time.Monday || sched.NextRun.Hour() != 7 || !sched.NextRun.After(time.Now()) {
		t.Errorf("next run %v", sched.NextRun)
	}
	if b, code := s.post(t, fmt.Sprintf("/api/compliance/report-schedules/%d/run", sched.ID), ""); code != 201 {
		t.Fatalf("run schedule: %d %s", code, b)
	}
	first := mail.Wait(t, 60*time.Second, func(m smtptest.Message) bool { return strings.Contains(m.Subject, "Weekly compliance") })
	if !strings.Contains(first.HTML, "node-agent") || !strings.Contains(first.HTML, "CIS Kubernetes Benchmark v1.12") {
		t.Errorf("first report HTML lacks the findings or scores")
	}

	t.Run("fixed workloads pass", func(t *testing.T) {
		if err := c.Apply(ctx, []byte(hardenedDeployment("insecure-apps", "node-agent", "node-agent"))); err != nil {
			t.Fatal(err)
		}
		if out, err := c.Kubectl(ctx, "delete", "clusterrolebinding", "insecure-apps-default-admin"); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		waitFor(t, "the fixed deployment passes", 60*time.Second, func() (bool, string) {
			s.compScan(t)
			var left []string
			for _, f := range s.compFindings(t, "namespace=insecure-apps&status=fail") {
				if f.Name == "node-agent" || f.Name == "insecure-apps-default-admin" {
					left = append(left, f.Control)
				}
			}
			return len(left) == 0, strings.Join(left, ",")
		})
	})

	t.Run("report mail with diff and attachments", func(t *testing.T) {
		if b, code := s.post(t, fmt.Sprintf("/api/compliance/report-schedules/%d/run", sched.ID), ""); code != 201 {
			t.Fatalf("run schedule: %d %s", code, b)
		}
		// The schedule sends both sections; the compliance part of the subject comes first.
		fixedChecks := regexp.MustCompile(`: \d+ new, [1-9]\d* fixed, lowest score`)
		m := mail.Wait(t, 60*time.Second, func(m smtptest.Message) bool {
			return strings.Contains(m.Subject, "Weekly compliance") && fixedChecks.MatchString(m.Subject)
		})
		if !strings.Contains(m.Subject, "; vulnerabilities: ") {
			t.Errorf("subject lacks the vulnerability part: %q", m.Subject)
		}
		if !contains(m.To, "secops@example.com") {
			t.Errorf("to %v", m.To)
		}
		if !strings.Contains(m.HTML, "Fixed since the previous report") || !strings.Contains(m.HTML, "node-agent") {
			t.Errorf("HTML lacks the fixed list:\n%.2000s", m.HTML)
		}
		var csvPart, vulnCSVPart, jsonPart []byte
		for _, p := range m.Parts {
			switch {
			case strings.HasPrefix(p.Filename, "compliance-") && strings.HasSuffix(p.Filename, ".csv"):
				csvPart = p.Data
			case strings.HasPrefix(p.Filename, "vulnerabilities-") && strings.HasSuffix(p.Filename, ".csv"):
				vulnCSVPart = p.Data
			case strings.HasSuffix(p.Filename, ".json"):
				jsonPart = p.Data
			}
		}
		rows, err := csv.NewReader(bytes.NewReader(csvPart)).ReadAll()
		if err != nil || len(rows) < 2 || rows[0][0] != "severity" || rows[0][1] != "control" {
			t.Errorf("CSV attachment: %v %q", err, csvPart)
		}
		// The vulnerability section arrives too: this cluster's scanner has no
		// database, which the report says instead of reporting images clean.
		if vrows, err := csv.NewReader(bytes.NewReader(vulnCSVPart)).ReadAll(); err != nil || len(vrows) < 1 || strings.Join(vrows[0][:6], ",") != "severity,id,image,package,version,fixed" {
			t.Errorf("vulnerability CSV attachment: %v %q", err, vulnCSVPart)
		}
		if !strings.Contains(m.HTML, ">Vulnerabilities</h2>") || !strings.Contains(m.HTML, "Most vulnerable images") || !strings.Contains(m.HTML, "vulnerability database is empty") {
			t.Errorf("HTML lacks the vulnerability section:\n%.3000s", m.HTML)
		}
		var rep struct {
			Kind  string        `json:"kind"`
			Fixed []compFinding `json:"fixed"`
			New   []compFinding `json:"new"`
			Vulns *struct {
				Counts   map[string]int        `json:"countsBySeverity"`
				Images   int                   `json:"images"`
				Findings []json.RawMessage     `json:"findings"`
				Warnings []string              `json:"warnings"`
				DB       struct{ Records int } `json:"db"`
			} `json:"vulnerabilities"`
		}
		if err := json.Unmarshal(jsonPart, &rep); err != nil {
			t.Fatalf("JSON attachment: %v", err)
		}
		if rep.Kind != "both" || rep.Vulns == nil || len(rep.Vulns.Counts) != 5 || rep.Vulns.DB.Records != 0 || len(rep.Vulns.Warnings) == 0 {
			t.Errorf("JSON vulnerability section: kind %q %+v", rep.Kind, rep.Vulns)
		}
		fixed := map[string]bool{}
		for _, f := range rep.Fixed {
			if f.Name == "node-agent" || f.Name == "insecure-apps-default-admin" {
				fixed[f.Control] = true
			}
		}
		for _, id := range []string{"VGL-K8S-001", "VGL-K8S-010", "VGL-K8S-018", "VGL-K8S-101"} {
			if !fixed[id] {
				t.Errorf("diff does not list %s as fixed (fixed: %v)", id, fixed)
			}
		}
		for _, f := range rep.New {
			if f.Name == "node-agent" {
				t.Errorf("the fixed deployment has a new failure: %+v", f)
			}
		}
		// Downloadable from the UI's API.
		var list []struct{ ID int64 }
		b, _ := s.get(t, "/api/compliance/reports")
		json.Unmarshal(b, &list)
		if len(list) < 2 {
			t.Fatalf("reports: %s", b)
		}
		html, code := s.get(t, fmt.Sprintf("/api/compliance/reports/%d/report.html", list[0].ID))
		if code != 200 || !bytes.Contains(html, []byte("Fixed since the previous report")) {
			t.Errorf("download HTML: %d", code)
		}
		if b, code := s.get(t, fmt.Sprintf("/api/compliance/reports/%d/vulnerabilities.csv", list[0].ID)); code != 200 || !bytes.HasPrefix(b, []byte("severity,id,image")) {
			t.Errorf("download vulnerability CSV: %d %.200s", code, b)
		}
		if _, code := s.get(t, fmt.Sprintf("/api/compliance/reports/%d/report.exe", list[0].ID)); code != 404 {
			t.Errorf("unknown report file: %d", code)
		}
	})

	t.Run("dashboard", func(t *testing.T) {
		// Break one workload again so the dashboard has something to show.
		if err := c.Apply(ctx, []byte(insecureManifests)); err != nil {
			t.Fatal(err)
		}
		s.compScan(t)
		// Newly failing high and critical checks, and the earlier fixes, are in the event stream.
		waitFor(t, "compliance events", 30*time.Second, func() (bool, string) {
			reasons := map[string]int{}
			for _, e := range s.events(t, url.Values{"source": {"vigil/security"}, "range": {"1h"}}) {
				if e.Name == "node-agent" || e.Reason == "ComplianceFixed" {
					reasons[e.Reason]++
				}
			}
			return reasons["ComplianceFailed"] >= 2 && reasons["ComplianceFixed"] >= 1, fmt.Sprint(reasons)
		})
		b := openBrowser(t, s)
		b.open("/security", "#security-to-compliance")
		b.do("open compliance", chromedp.Click(chromedp.ID("security-to-compliance")))
		b.waitCount("#compliance-score-cis-k8s", 30*time.Second, func(n int) bool { return n == 1 })
		for _, fw := range []string{"cis-k8s", "nsa-cisa", "pss-baseline", "pss-restricted"} {
			txt := b.waitText(fmt.Sprintf("#compliance-score-%s .comp-score-value", fw), 10*time.Second, func(s string) bool { return strings.HasSuffix(s, "%") })
			v, err := strconv.ParseFloat(strings.TrimSuffix(txt, "%"), 64)
			if err != nil || v <= 0 || v >= 100 {
				t.Errorf("%s score %q: want between 0 and 100", fw, txt)
			}
		}
		b.waitCount(`#compliance-findings tr[data-name="node-agent"]`, 10*time.Second, func(n int) bool { return n >= 5 })
		b.shot("compliance-dashboard.png")
		b.open("/security/compliance?namespace=secure-apps", "#compliance-page")
		b.waitText("#compliance-findings-total", 10*time.Second, func(s string) bool { return s == "0 checks" })
		b.open("/security/compliance?severity=critical", "#compliance-findings")
		b.waitCount(`#compliance-findings tr.comp-row`, 10*time.Second, func(n int) bool { return n >= 2 })
		if n := b.count(`#compliance-findings .csev-high`); n != 0 {
			t.Errorf("severity filter shows %d high rows", n)
		}
		b.shot("compliance-critical.png")
		b.open("/security/compliance?tab=reports", "#compliance-reports")
		b.waitCount(`#compliance-reports tr[data-report]`, 10*time.Second, func(n int) bool { return n >= 2 })
		b.shot("compliance-reports.png")
	})

	t.Run("reports tab shows kinds and the vulnerability CSV", func(t *testing.T) {
		b := openBrowser(t, s)
		// The lists are loaded (a later render would reset the form's fields).
		b.open("/security/compliance?tab=reports", "#compliance-reports")
		// A daily schedule of both sections, made through the form; fields are
		// set by value and announced with the event a user's edit fires.
		set := func(id, value, event string) chromedp.Action[chromedp.Void] {
			return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const e = document.getElementById(%q); e.value = %q; e.dispatchEvent(new Event(%q, {bubbles: true})); })()`, id, value, event))
		}
		pick := func(id, value string) chromedp.Action[chromedp.Void] { return set(id, value, "change") }
		b.do("fill the schedule form",
			set("schedule-name", "", "input"),
			chromedp.SendKeys(chromedp.ID("schedule-name"), "Nightly security"),
			pick("schedule-kind", "both"),
			pick("schedule-cadence", "daily"),
			chromedp.SendKeys(chromedp.ID("schedule-recipients"), "nightly@example.com"),
			chromedp.Click(chromedp.ID("schedule-submit")),
		)
		b.waitText(`#compliance-schedules tr[data-kind="both"]:last-child`, 10*time.Second, func(s string) bool {
			return strings.Contains(s, "Nightly security") && strings.Contains(s, "Compliance + vulnerabilities") && strings.Contains(s, "daily at 07:00 UTC")
		})
		var scheds []struct {
			ID                  int64
			Name, Kind, Cadence string
			Recipients          []string
		}
		b2, _ := s.get(t, "/api/compliance/report-schedules")
		if err := json.Unmarshal(b2, &scheds); err != nil {
			t.Fatal(err)
		}
		var nightly int64
		for _, sc := range scheds {
			if sc.Name == "Nightly security" {
				nightly = sc.ID
				if sc.Kind != "both" || sc.Cadence != "daily" || !contains(sc.Recipients, "nightly@example.com") {
					t.Errorf("schedule from the form: %+v", sc)
				}
			}
		}
		if nightly == 0 {
			t.Fatalf("the form did not store the schedule: %s", b2)
		}

		// Send it now, then generate a compliance-only report beside it.
		reportRows := `#compliance-reports tr[data-report]`
		n := b.count(reportRows)
		b.do("send the schedule now", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#compliance-schedules tr[data-schedule="%d"] button`, nightly))))
		b.waitCount(reportRows, 60*time.Second, func(c int) bool { return c == n+1 })
		b.do("generate a compliance report", pick("report-kind", "compliance"), chromedp.Click(chromedp.ID("report-generate")))
		b.waitCount(reportRows, 60*time.Second, func(c int) bool { return c == n+2 })

		var list []struct {
			ID         int64
			ScheduleID int64 `json:"scheduleId"`
			Kind       string
			Title      string
		}
		b2, _ = s.get(t, "/api/compliance/reports")
		if err := json.Unmarshal(b2, &list); err != nil || len(list) < 2 {
			t.Fatalf("reports: %v %s", err, b2)
		}
		comp, both := list[0], list[1]
		if comp.Kind != "compliance" || comp.Title != "Compliance report" || both.Kind != "both" || both.ScheduleID != nightly {
			t.Fatalf("newest reports: %+v %+v", comp, both)
		}
		row := func(id int64) string { return fmt.Sprintf(`#compliance-reports tr[data-report="%d"]`, id) }
		if k := b.text(row(both.ID) + " .report-kind"); k != "Compliance + vulnerabilities" {
			t.Errorf("kind shown for the scheduled report: %q", k)
		}
		if k := b.text(row(comp.ID) + " .report-kind"); k != "Compliance" {
			t.Errorf("kind shown for the compliance report: %q", k)
		}
		// The vulnerability summary: this cluster's scanner has no database, so
		// no severity counts, but the diff and image counts are there.
		if v := b.text(row(both.ID) + " .report-vuln-cell"); !regexp.MustCompile(`· \d+ new, \d+ fixed\s*\d+ images? · \d+ fixable`).MatchString(v) {
			t.Errorf("vulnerability summary of the scheduled report: %q", v)
		}
		if v := b.text(row(comp.ID) + " .report-vuln-cell"); v != "—" {
			t.Errorf("vulnerability summary of the compliance report: %q", v)
		}
		href, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {}).getAttribute?.("href") || ""`, row(both.ID)+" a.report-dl-vulns")))
		if err != nil || href != fmt.Sprintf("/api/compliance/reports/%d/vulnerabilities.csv", both.ID) {
			t.Errorf("vulnerability CSV link: %v %q", err, href)
		} else if body, code := s.get(t, href); code != 200 || !bytes.HasPrefix(body, []byte("severity,id,image")) {
			t.Errorf("the vulnerability CSV link serves %d %.200s", code, body)
		}
		if n := b.count(row(comp.ID) + " a.report-dl-vulns"); n != 0 {
			t.Errorf("a compliance-only report offers %d vulnerability CSV links", n)
		}
		if n := b.count(row(comp.ID) + " a.report-dl-csv"); n != 1 {
			t.Errorf("the compliance report offers %d CSV links", n)
		}
		b.shot("reports.png")
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func postAgent(t *testing.T, s *vigilServer, path string, body *strings.Reader) int {
	t.Helper()
	req, _ := http.NewRequest("POST", s.url+path, body)
	req.Header.Set("Authorization", "Bearer "+s.agentToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestComplianceScanIaC runs `vigil scan iac` like a pipeline would on the
// Terraform tree of the study (S3 backend without encryption, EKS without
// control-plane logs and with a public endpoint, unencrypted EBS, a security
// group open to the world).
func TestComplianceScanIaC(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	study := filepath.Join(filepath.Dir(file), "..", "..", "internal", "security", "iac", "testdata", "study")
	run := func(args ...string) (string, string, int) {
		cmd := exec.Command(vigilBin, append([]string{"scan", "iac"}, args...)...)
		cmd.Dir = study
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), code
	}

	out, _, code := run("terraform")
	if code != 0 {
		t.Errorf("without --severity the exit code is %d", code)
	}
	for _, want := range []string{
		"VGL-TF-001  terraform/backend.tf:8 ", "VGL-TF-002  terraform/eks.tf:9 ", "VGL-TF-003  terraform/eks.tf:8 ",
		"VGL-TF-003  terraform/eks.tf:22 ", "VGL-TF-004  terraform/nodes.tf:1 ", "VGL-TF-005  terraform/nodes.tf:33 ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "unknown  VGL-TF-004  terraform/nodes.tf:9") {
		t.Errorf("a variable-dependent value is not reported unknown:\n%s", out)
	}

	out, stderr, code := run("--severity", "high", "-f", "json", ".")
	if code != 1 || !strings.Contains(stderr, "failed checks at or above high") {
		t.Errorf("--severity high: exit %d, stderr %s", code, stderr)
	}
	var rep struct {
		Findings []struct {
			Control, File, Status string
			Line                  int
		}
		Notes []struct{ File, Message string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("JSON output: %v", err)
	}
	var chart, kustomize, template bool
	for _, f := range rep.Findings {
		chart = chart || strings.HasPrefix(f.File, "chart/templates/deployment.yaml")
		kustomize = kustomize || strings.HasPrefix(f.File, "overlay")
	}
	for _, n := range rep.Notes {
		template = template || strings.HasSuffix(n.File, "broken-template.yaml") && strings.Contains(n.Message, "skipped")
	}
	if !chart || !kustomize || !template {
		t.Errorf("chart %v, kustomize %v, template note %v", chart, kustomize, template)
	}

	out, _, code = run("-f", "sarif", "--framework", "cis-eks", "terraform")
	var sarif struct {
		Version string
		Runs    []struct {
			Results []struct {
				RuleID    string
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartLine int }
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &sarif); err != nil || sarif.Version != "2.1.0" || len(sarif.Runs) != 1 || code != 0 {
		t.Fatalf("SARIF: %v %d", err, code)
	}
	for _, r := range sarif.Runs[0].Results {
		if !strings.HasPrefix(r.RuleID, "VGL-TF-00") || r.Locations[0].PhysicalLocation.Region.StartLine == 0 {
			t.Errorf("SARIF result %+v", r)
		}
	}

	_, stderr, code = run("--control", "VGL-TF-01", "terraform")
	if code == 0 || !strings.Contains(stderr, `unknown control "VGL-TF-01"`) {
		t.Errorf("misspelled control: exit %d, %s", code, stderr)
	}
	_, stderr, code = run("--framework", "nsa", "terraform")
	if code == 0 || !strings.Contains(stderr, `unknown framework "nsa"`) {
		t.Errorf("misspelled framework: exit %d, %s", code, stderr)
	}
}
