package e2e

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"vigil/internal/security/vuln/vulntest"
	"vigil/test/cluster"
)

// vulnFixtures is the directory of the OSV fixtures written for Debian and Alpine.
func vulnFixtures(t *testing.T, eco string) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "internal", "security", "vuln", "testdata", "osv", eco))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func runVigil(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(vigilBin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run vigil %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

type cliReport struct {
	Digest   string `json:"digest"`
	OS       string `json:"os"`
	Packages []struct {
		Name, Version, Type string
		Layer               int
	} `json:"packages"`
	Findings []struct {
		ID, Package, Version, Fixed, Severity, Remediation string
		Layer                                              int
		BaseLayer                                          bool
	} `json:"findings"`
	Warnings []string `json:"warnings"`
	DB       struct {
		Records int  `json:"records"`
		Stale   bool `json:"stale"`
	} `json:"db"`
}

// TestVulnScanCLI builds an image from this machine's dpkg database and a Go
// binary with old modules, and scans it with `vigil scan image|fs` in every
// output format, against the Go vulnerability database and the fixtures.
func TestVulnScanCLI(t *testing.T) {
	ctx := ctxTimeout(t, 5*time.Minute)
	work := t.TempDir()
	im, err := vulntest.Build(ctx, work)
	if err != nil {
		t.Fatal(err)
	}
	tarPath := filepath.Join(work, "app.tar")
	if err := vulntest.WriteTarball(im.Image, tarPath, "vigil.test/app:1"); err != nil {
		t.Fatal(err)
	}
	layoutDir := filepath.Join(work, "oci")
	if err := vulntest.WriteLayout(im.Image, layoutDir); err != nil {
		t.Fatal(err)
	}
	goDB, err := vulntest.GoVulnDBDir(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(work, "db")

	t.Run("empty database warns instead of passing", func(t *testing.T) {
		out, stderr, code := runVigil(t, "scan", "image", "--db-dir", db, "--severity", "low", tarPath)
		if code != 0 || !strings.Contains(out, "database is empty") {
			t.Fatalf("code %d\n%s\n%s", code, out, stderr)
		}
	})

	if out, stderr, code := runVigil(t, "vulndb", "import", "--db-dir", db, goDB); code != 0 || !strings.Contains(out, "Go") {
		t.Fatalf("import Go vulndb: %d %s %s", code, out, stderr)
	}

	t.Run("missing Debian data does not hide Go findings", func(t *testing.T) {
		out, stderr, code := runVigil(t, "scan", "image", "--db-dir", db, "-f", "json", tarPath)
		if code != 0 {
			t.Fatalf("code %d: %s", code, stderr)
		}
		var r cliReport
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		if len(r.Findings) < 20 {
			t.Errorf("%d findings with only Go data", len(r.Findings))
		}
		if !strings.Contains(stderr, "no vulnerability data for ecosystem Debian") {
			t.Errorf("stderr lacks the Debian warning: %s", stderr)
		}
	})

	if _, stderr, code := runVigil(t, "vulndb", "import", "--db-dir", db, vulnFixtures(t, "debian")); code != 0 {
		t.Fatalf("import fixtures: %s", stderr)
	}

	var rep cliReport
	t.Run("docker-save tarball: packages, Go vulnerabilities, remediation", func(t *testing.T) {
		out, stderr, code := runVigil(t, "scan", "image", "--db-dir", db, "--format", "json", tarPath)
		if code != 0 {
			t.Fatalf("code %d: %s", code, stderr)
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		debs, gomods := 0, map[string]string{}
		for _, p := range rep.Packages {
			if p.Type == "deb" {
				debs++
			}
			if p.Type == "golang" {
				gomods[p.Name] = p.Version
			}
		}
		want, err := exec.Command("dpkg-query", "-W", "-f", "${Package}\n").Output()
		if err != nil {
			t.Fatal(err)
		}
		if n := len(strings.Fields(string(want))); debs != n || debs < 500 {
			t.Errorf("found %d Debian packages, dpkg-query lists %d", debs, n)
		}
		if gomods["golang.org/x/net"] != strings.TrimPrefix(vulntest.NetVersion, "v") || gomods["golang.org/x/text"] != strings.TrimPrefix(vulntest.TextVersion, "v") || gomods["go"] == "" {
			t.Errorf("Go modules %v", gomods)
		}
		got := map[string][]string{}
		for _, f := range rep.Findings {
			got[f.Package] = append(got[f.Package], f.ID)
		}
		for pkg, ids := range map[string][]string{
			"golang.org/x/net":  {"GO-2026-4918", "GO-2026-5025", "GO-2026-5942", "GO-2026-6603", "GO-2026-6860"},
			"golang.org/x/text": {"GO-2026-6629"},
			"go":                {"GO-2026-6599", "GO-2026-6809"},
			"openssl":           {"DEBIAN-FIXTURE-0001"},
			"libc6":             {"DEBIAN-FIXTURE-0002"},
		} {
			for _, id := range ids {
				if !slices.Contains(got[pkg], id) {
					t.Errorf("%s: %s not reported (got %v)", pkg, id, got[pkg])
				}
			}
		}
		for _, f := range rep.Findings {
			if f.ID == "GO-2026-6629" && (f.Fixed != "0.41.0" || f.Layer != 2 || f.BaseLayer || !strings.Contains(f.Remediation, "go get golang.org/x/text@v0.41.0")) {
				t.Errorf("x/text finding %+v", f)
			}
			if f.ID == "DEBIAN-FIXTURE-0001" && f.Package == "openssl" && (f.Severity != "critical" || !f.BaseLayer || !strings.Contains(f.Remediation, "apt-get install --only-upgrade openssl")) {
				t.Errorf("openssl finding %+v", f)
			}
		}
	})

	t.Run("OCI layout gives the same image", func(t *testing.T) {
		out, stderr, code := runVigil(t, "scan", "image", "--db-dir", db, "-f", "json", layoutDir)
		if code != 0 {
			t.Fatalf("code %d: %s", code, stderr)
		}
		var r cliReport
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		if r.Digest != rep.Digest || len(r.Findings) != len(rep.Findings) || len(r.Packages) != len(rep.Packages) {
			t.Errorf("layout: digest %s findings %d packages %d; tarball: %s %d %d", r.Digest, len(r.Findings), len(r.Packages), rep.Digest, len(rep.Findings), len(rep.Packages))
		}
	})

	t.Run("table output and --severity exit code", func(t *testing.T) {
		out, _, code := runVigil(t, "scan", "image", "--db-dir", db, "--severity", "critical", tarPath)
		if code != 1 {
			t.Errorf("exit %d with critical findings and --severity critical", code)
		}
		for _, s := range []string{"Debian GNU/Linux", "CRITICAL 9.8", "GO-2026-6629", "Remediation:", "apt-get install --only-upgrade"} {
			if !strings.Contains(out, s) {
				t.Errorf("table lacks %q", s)
			}
		}
		if _, _, code := runVigil(t, "scan", "image", "--db-dir", db, "--severity", "critical", "--exit-code", "3", tarPath); code != 3 {
			t.Errorf("--exit-code 3 gave %d", code)
		}
		alp, err := vulntest.AlpineImage()
		if err != nil {
			t.Fatal(err)
		}
		alpTar := filepath.Join(work, "alpine.tar")
		if err := vulntest.WriteTarball(alp, alpTar, "vigil.test/alpine:3.20"); err != nil {
			t.Fatal(err)
		}
		// No Alpine data: nothing reaches the threshold, and the gap is said.
		_, stderr, code := runVigil(t, "scan", "image", "--db-dir", db, "--severity", "low", "-f", "json", alpTar)
		if code != 0 || !strings.Contains(stderr, "ecosystem Alpine") {
			t.Errorf("alpine without data: exit %d, stderr %s", code, stderr)
		}
		if _, stderr, code := runVigil(t, "scan", "image", "--db-dir", db, "--severity", "hgh", tarPath); code == 0 || !strings.Contains(stderr, `unknown --severity "hgh"`) {
			t.Errorf("typo in --severity: exit %d %s", code, stderr)
		}
		if _, stderr, code := runVigil(t, "scan", "image", "--db-dir", db, "-f", "xml", tarPath); code == 0 || !strings.Contains(stderr, "unknown --format") {
			t.Errorf("bad format: exit %d %s", code, stderr)
		}
		if _, stderr, code := runVigil(t, "scan", "image", "--db-dir", db, filepath.Join(work, "nope.tar")); code == 0 || !strings.Contains(stderr, "neither a file") {
			t.Errorf("missing file: exit %d %s", code, stderr)
		}
	})

	t.Run("registry reference with Docker config credentials", func(t *testing.T) {
		host := testRegistry(t, "ci", "pw")
		pushImage(t, host+"/private/app:1", im.Image, &authn.Basic{Username: "ci", Password: "pw"})
		ref := host + "/private/app:1"
		if _, stderr, code := runVigil(t, "scan", "image", "--db-dir", db, "-f", "json", ref); code == 0 || !strings.Contains(stderr, "401") && !strings.Contains(strings.ToLower(stderr), "unauthorized") {
			t.Errorf("pull without credentials: exit %d %s", code, stderr)
		}
		cfgDir := t.TempDir()
		cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, "Y2k6cHc=") // ci:pw
		if err := os.WriteFile(filepath.Join(cfgDir, "config.json"), []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(vigilBin, "scan", "image", "--db-dir", db, "-f", "json", ref)
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+cfgDir)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("scan with credentials: %v", err)
		}
		var r cliReport
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatal(err)
		}
		if r.Digest != rep.Digest || len(r.Findings) != len(rep.Findings) {
			t.Errorf("registry scan: digest %s, %d findings; want %s, %d", r.Digest, len(r.Findings), rep.Digest, len(rep.Findings))
		}
	})

	t.Run("SARIF, CycloneDX and SPDX", func(t *testing.T) {
		out, _, _ := runVigil(t, "scan", "image", "--db-dir", db, "-f", "sarif", tarPath)
		var sarif struct {
			Version string `json:"version"`
			Runs    []struct {
				Tool struct {
					Driver struct {
						Name  string           `json:"name"`
						Rules []map[string]any `json:"rules"`
					} `json:"driver"`
				} `json:"tool"`
				Results []struct {
					RuleID string `json:"ruleId"`
					Level  string `json:"level"`
				} `json:"results"`
			} `json:"runs"`
		}
		if err := json.Unmarshal([]byte(out), &sarif); err != nil {
			t.Fatal(err)
		}
		if sarif.Version != "2.1.0" || len(sarif.Runs) != 1 || len(sarif.Runs[0].Results) != len(rep.Findings) || sarif.Runs[0].Tool.Driver.Name != "vigil" {
			t.Errorf("sarif: version %s runs %d", sarif.Version, len(sarif.Runs))
		}
		out, _, _ = runVigil(t, "scan", "image", "--db-dir", db, "-f", "cyclonedx", tarPath)
		var bom struct {
			BomFormat  string `json:"bomFormat"`
			Components []struct {
				Ref  string `json:"bom-ref"`
				PURL string `json:"purl"`
			} `json:"components"`
			Vulnerabilities []struct {
				ID      string `json:"id"`
				Affects []struct {
					Ref string `json:"ref"`
				} `json:"affects"`
			} `json:"vulnerabilities"`
		}
		if err := json.Unmarshal([]byte(out), &bom); err != nil {
			t.Fatal(err)
		}
		refs := map[string]bool{}
		purls := 0
		for _, c := range bom.Components {
			refs[c.Ref] = true
			if strings.HasPrefix(c.PURL, "pkg:") {
				purls++
			}
		}
		if bom.BomFormat != "CycloneDX" || len(bom.Components) != len(rep.Packages) || purls < len(rep.Packages)-1 || len(bom.Vulnerabilities) == 0 {
			t.Errorf("cyclonedx: %s components %d purls %d vulns %d", bom.BomFormat, len(bom.Components), purls, len(bom.Vulnerabilities))
		}
		for _, v := range bom.Vulnerabilities {
			for _, a := range v.Affects {
				if !refs[a.Ref] {
					t.Errorf("vulnerability %s affects unknown component %s", v.ID, a.Ref)
				}
			}
		}
		sbom := filepath.Join(work, "sbom.spdx.json")
		if _, stderr, code := runVigil(t, "scan", "image", "--db-dir", db, "-f", "spdx", "-o", sbom, tarPath); code != 0 {
			t.Fatal(stderr)
		}
		b, err := os.ReadFile(sbom)
		if err != nil {
			t.Fatal(err)
		}
		var spdx struct {
			SPDXVersion string           `json:"spdxVersion"`
			Packages    []map[string]any `json:"packages"`
		}
		if err := json.Unmarshal(b, &spdx); err != nil {
			t.Fatal(err)
		}
		if spdx.SPDXVersion != "SPDX-2.3" || len(spdx.Packages) != len(rep.Packages)+1 {
			t.Errorf("spdx %s with %d packages", spdx.SPDXVersion, len(spdx.Packages))
		}
	})

	t.Run("scan fs of a root directory", func(t *testing.T) {
		root := filepath.Join(work, "rootfs")
		for _, d := range []string{"var/lib/dpkg", "etc", "usr/local/bin"} {
			if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for src, dst := range map[string]string{"/var/lib/dpkg/status": "var/lib/dpkg/status", "/etc/os-release": "etc/os-release", filepath.Join(work, "app"): "usr/local/bin/app"} {
			b, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, dst), b, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		out, stderr, code := runVigil(t, "scan", "fs", "--db-dir", db, "-f", "json", root)
		if code != 0 {
			t.Fatalf("code %d: %s", code, stderr)
		}
		var r cliReport
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		if len(r.Packages) != len(rep.Packages) || len(r.Findings) != len(rep.Findings) {
			t.Errorf("fs scan: %d packages %d findings; image: %d %d", len(r.Packages), len(r.Findings), len(rep.Packages), len(rep.Findings))
		}
	})

	t.Run("malformed bundles are refused", func(t *testing.T) {
		bad := filepath.Join(work, "bad")
		if err := os.MkdirAll(bad, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bad, "X-1.json"), []byte(`{"id":"X-1","affected":[{"package":{"name":"a","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0","fixed":"1"}]}]}]}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, stderr, code := runVigil(t, "vulndb", "import", "--db-dir", db, bad); code == 0 || !strings.Contains(stderr, "exactly one of") {
			t.Errorf("bad event accepted: %d %s", code, stderr)
		}
		if _, stderr, code := runVigil(t, "vulndb", "update", "--db-dir", db, "--mirror", "ftp://x"); code == 0 || !strings.Contains(stderr, "not an http") {
			t.Errorf("bad mirror: %d %s", code, stderr)
		}
	})
}

// osvZip packs a directory of OSV records as an ecosystem archive (all.zip).
func osvZip(t *testing.T, dir string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create(e.Name())
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// testRegistry is an in-process OCI registry on loopback that the test
// cluster's pods reference; repositories under private/ need basic auth.
func testRegistry(t *testing.T, user, pass string) string {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v2/private/") {
			u, p, ok := r.BasicAuth()
			if !ok || u != user || p != pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="vigil-test"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return u.Host
}

func pushImage(t *testing.T, ref string, img v1.Image, auth authn.Authenticator) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, remote.WithAuth(auth)); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, _ := img.Digest()
	return d.String()
}

type vulnWorkload struct {
	Namespace string `json:"namespace"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Images    int    `json:"images"`
	Vulns     struct {
		Critical int `json:"critical"`
		High     int `json:"high"`
		Medium   int `json:"medium"`
		Low      int `json:"low"`
	} `json:"vulns"`
	Fixable int `json:"fixable"`
}

func (s *vigilServer) vulnWorkloads(t *testing.T) map[string]vulnWorkload {
	t.Helper()
	b, code := s.get(t, "/api/vulns/workloads")
	if code != 200 {
		t.Fatalf("workloads: %d %s", code, b)
	}
	var wls []vulnWorkload
	if err := json.Unmarshal(b, &wls); err != nil {
		t.Fatal(err)
	}
	out := map[string]vulnWorkload{}
	for _, w := range wls {
		out[w.Namespace+"/"+w.Kind+"/"+w.Name] = w
	}
	return out
}

// TestVulnClusterScanning runs pods whose images live in a registry on
// loopback (kwok pods never pull; vigil pulls the digests the pods name), and
// checks that the server scans each digest once, stores the results in its
// own database, rematches when the vulnerability database is updated (by
// `vigil vulndb import` and by upload), and shows it all in the UI.
func TestVulnClusterScanning(t *testing.T) {
	ctx := ctxTimeout(t, 12*time.Minute)
	work := t.TempDir()
	app, err := vulntest.Build(ctx, work)
	if err != nil {
		t.Fatal(err)
	}
	alp, err := vulntest.AlpineImage()
	if err != nil {
		t.Fatal(err)
	}
	const user, pass = "ci", "pull-s3cret"
	host := testRegistry(t, user, pass)
	appDigest := pushImage(t, host+"/shop/app:1", app.Image, authn.Anonymous)
	alpDigest := pushImage(t, host+"/base/alpine:3.20", alp, authn.Anonymous)
	privDigest := pushImage(t, host+"/private/app:1", app.Image, &authn.Basic{Username: user, Password: pass})
	if privDigest != appDigest {
		t.Fatalf("same image, different digests: %s %s", privDigest, appDigest)
	}

	c := cluster.StartForTest(t, cluster.Options{})
	if _, err := c.CreateFakeNode(ctx, "kwok-vuln-0", nil); err != nil {
		t.Fatal(err)
	}
	dockerCfg := fmt.Sprintf(`{"auths":{%q:{"username":%q,"password":%q}}}`, host, user, pass)
	manifest := fmt.Sprintf(`
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Namespace
metadata: {name: payments}
---
apiVersion: v1
kind: Namespace
metadata: {name: internal}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      tolerations: [{key: kwok.x-k8s.io/node, operator: Equal, value: fake, effect: NoSchedule}]
      containers:
      - {name: app, image: %[1]s/shop/app:1}
      - {name: proxy, image: %[1]s/base/alpine:3.20}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ledger, namespace: payments}
spec:
  replicas: 2
  selector: {matchLabels: {app: ledger}}
  template:
    metadata: {labels: {app: ledger}}
    spec:
      tolerations: [{key: kwok.x-k8s.io/node, operator: Equal, value: fake, effect: NoSchedule}]
      containers:
      - {name: ledger, image: %[1]s/base/alpine:3.20}
---
apiVersion: v1
kind: Secret
metadata: {name: regcred, namespace: internal}
type: kubernetes.io/dockerconfigjson
stringData:
  .dockerconfigjson: '%[2]s'
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: tools, namespace: internal}
spec:
  replicas: 1
  serviceName: tools
  selector: {matchLabels: {app: tools}}
  template:
    metadata: {labels: {app: tools}}
    spec:
      imagePullSecrets: [{name: regcred}]
      tolerations: [{key: kwok.x-k8s.io/node, operator: Equal, value: fake, effect: NoSchedule}]
      containers:
      - {name: tools, image: %[1]s/private/app:1}
`, host, dockerCfg)
	if err := c.Apply(ctx, []byte(manifest)); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--kubeconfig", c.Kubeconfig)

	status := func() (st struct {
		Progress struct {
			State       string    `json:"state"`
			Containers  int       `json:"containers"`
			LastListing time.Time `json:"lastListing"`
			Cluster     bool      `json:"cluster"`
		} `json:"progress"`
		DB struct {
			Records int  `json:"records"`
			Stale   bool `json:"stale"`
		} `json:"db"`
		Images map[string]int `json:"images"`
	}) {
		b, code := s.get(t, "/api/vulns/status")
		if code != 200 {
			t.Fatalf("status %d %s", code, b)
		}
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	// 3 web pods × 2 + 2 ledger + 1 tools = 9 containers, 2 distinct digests.
	waitFor(t, "both digests scanned (empty database)", 3*time.Minute, func() (bool, string) {
		st := status()
		return st.Images["done"] == 2 && st.Progress.Containers == 9, fmt.Sprintf("%+v", st)
	})
	if st := status(); !st.Progress.Cluster || !st.DB.Stale || st.DB.Records != 0 {
		t.Errorf("before import: %+v", st)
	}

	type imageRow struct {
		Digest     string `json:"digest"`
		Ref        string `json:"ref"`
		Status     string `json:"status"`
		Packages   int    `json:"packages"`
		Containers int    `json:"containers"`
		Vulns      struct {
			Critical, High, Unknown int
		} `json:"vulns"`
	}
	images := func() map[string]imageRow {
		b, _ := s.get(t, "/api/vulns/images")
		var rows []imageRow
		if err := json.Unmarshal(b, &rows); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		out := map[string]imageRow{}
		for _, r := range rows {
			out[r.Digest] = r
		}
		return out
	}
	ims := images()
	if len(ims) != 2 || ims[appDigest].Containers != 4 || ims[alpDigest].Containers != 5 || ims[appDigest].Packages < 500 {
		t.Fatalf("images once per digest: %+v", ims)
	}

	// Load the database the way an operator does, into <data-dir>/vulndb.
	goDB, err := vulntest.GoVulnDBDir(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dbDir := filepath.Join(s.dataDir, "vulndb")
	for _, src := range []string{goDB, vulnFixtures(t, "debian")} {
		if _, stderr, code := runVigil(t, "vulndb", "import", "--db-dir", dbDir, src); code != 0 {
			t.Fatal(stderr)
		}
	}
	start := time.Now()
	waitFor(t, "rematch after vulndb import", 90*time.Second, func() (bool, string) {
		wl := s.vulnWorkloads(t)["shop/Deployment/web"]
		return wl.Vulns.Critical > 0, fmt.Sprintf("%+v", wl)
	})
	t.Logf("findings visible %v after the import", time.Since(start).Round(time.Second))
	// The image page data: packages, layers, findings, remediation.
	b, code := s.get(t, "/api/vulns/images/"+url.PathEscape(appDigest))
	if code != 200 {
		t.Fatalf("image %d %s", code, b)
	}
	var detail struct {
		Report struct {
			Layers       []map[string]any                   `json:"layers"`
			Packages     []map[string]any                   `json:"packages"`
			Findings     []struct{ ID, Remediation string } `json:"findings"`
			Remediations []struct{ Text, Command string }   `json:"remediations"`
			Counts       map[string]int                     `json:"counts"`
		} `json:"report"`
		Containers []map[string]any `json:"containers"`
	}
	if err := json.Unmarshal(b, &detail); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range detail.Report.Findings {
		ids = append(ids, f.ID)
	}
	for _, id := range []string{"GO-2026-6629", "GO-2026-4918", "DEBIAN-FIXTURE-0001"} {
		if !slices.Contains(ids, id) {
			t.Errorf("image findings lack %s", id)
		}
	}
	if len(detail.Report.Layers) != 3 || len(detail.Report.Packages) < 500 || len(detail.Containers) != 4 || len(detail.Report.Remediations) == 0 ||
		!strings.Contains(detail.Report.Remediations[0].Command, "apt-get install --only-upgrade") {
		t.Errorf("image detail: %d layers %d packages %d containers %+v", len(detail.Report.Layers), len(detail.Report.Packages), len(detail.Containers), detail.Report.Remediations[:min(2, len(detail.Report.Remediations))])
	}

	wls := s.vulnWorkloads(t)
	web, ledger, tools := wls["shop/Deployment/web"], wls["payments/Deployment/ledger"], wls["internal/StatefulSet/tools"]
	// Counts are per vulnerable package: the openssl fixture hits libssl3,
	// libssl-dev and openssl if installed. A workload sums its distinct images.
	appCrit, appHigh := detail.Report.Counts["critical"], detail.Report.Counts["high"]
	if appCrit < 1 || appHigh < 1 {
		t.Fatalf("app image counts %v", detail.Report.Counts)
	}
	if web.Images != 2 || web.Vulns.Critical != appCrit || web.Vulns.High != appHigh || web.Fixable < 20 {
		t.Errorf("web %+v, app image %v", web, detail.Report.Counts)
	}
	if tools.Images != 1 || tools.Vulns.Critical != appCrit {
		t.Errorf("tools (pulled with the pod's pull secret) %+v", tools)
	}
	if ledger.Images != 1 || ledger.Vulns.High != 0 {
		t.Errorf("ledger before Alpine data %+v", ledger)
	}

	// A vulnerabilities report now, and one after the Alpine data arrives: the
	// second lists the Alpine findings as new and nothing as fixed.
	type vulnReport struct {
		ID      int64  `json:"id"`
		Kind    string `json:"kind"`
		Summary struct {
			Vulns *struct {
				Counts map[string]int `json:"countsBySeverity"`
				Images int            `json:"images"`
				New    int            `json:"new"`
				Fixed  int            `json:"fixed"`
			} `json:"vulnerabilities"`
		} `json:"summary"`
	}
	genReport := func() vulnReport {
		t.Helper()
		b, code := s.post(t, "/api/compliance/reports", `{"kind":"vulnerabilities","title":"Vulnerabilities"}`)
		var r vulnReport
		if code != 201 || json.Unmarshal(b, &r) != nil || r.Kind != "vulnerabilities" || r.Summary.Vulns == nil {
			t.Fatalf("generate report: %d %s", code, b)
		}
		return r
	}
	firstRep := genReport()
	if v := firstRep.Summary.Vulns; v.Images != 2 || v.Counts["critical"] < 1 || v.Counts["high"] < 1 || v.New == 0 || v.Fixed != 0 {
		t.Errorf("first report summary %+v", v)
	}

	// Upload the Alpine archive through the API: the ledger gets its findings without a new pull.
	req, _ := http.NewRequestWithContext(ctx, "POST", s.url+"/api/vulns/db/import", bytes.NewReader(osvZip(t, vulnFixtures(t, "alpine"))))
	req.Header.Set("Authorization", "Bearer "+s.apiToken)
	req.Header.Set("Content-Type", "application/zip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Alpine") {
		t.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	waitFor(t, "ledger rematched with Alpine data", 60*time.Second, func() (bool, string) {
		l := s.vulnWorkloads(t)["payments/Deployment/ledger"]
		return l.Vulns.High == 2, fmt.Sprintf("%+v", l)
	})

	b, _ = s.get(t, "/api/vulns/overview")
	var ov struct {
		Counts  struct{ Critical, High int } `json:"counts"`
		Fixable int                          `json:"fixable"`
		TopCVEs []struct {
			ID         string `json:"id"`
			Containers int    `json:"containers"`
		} `json:"topCVEs"`
		TopImages []struct{ Digest string } `json:"topImages"`
	}
	if err := json.Unmarshal(b, &ov); err != nil {
		t.Fatal(err)
	}
	if ov.Counts.Critical != appCrit || ov.Counts.High != appHigh+2 || len(ov.TopCVEs) == 0 || ov.TopCVEs[0].ID != "DEBIAN-FIXTURE-0001" || ov.TopCVEs[0].Containers != 4 ||
		len(ov.TopImages) != 2 || ov.TopImages[0].Digest != appDigest {
		t.Errorf("overview %s", b)
	}
	if _, code := s.get(t, "/api/vulns/images/sha256:nope"); code != 404 {
		t.Errorf("unknown digest: %d", code)
	}

	secondRep := genReport()
	b, code = s.get(t, fmt.Sprintf("/api/compliance/reports/%d/report.json", secondRep.ID))
	var content struct {
		Vulns struct {
			Findings  []struct{ ID, Image, Package, Severity string } `json:"findings"`
			New       []struct{ ID, Image, Package string }           `json:"new"`
			Fixed     []json.RawMessage                               `json:"fixed"`
			TopImages []struct{ Image string }                        `json:"topImages"`
		} `json:"vulnerabilities"`
	}
	if code != 200 || json.Unmarshal(b, &content) != nil {
		t.Fatalf("report JSON: %d %.300s", code, b)
	}
	alpineImage := host + "/base/alpine:3.20"
	var alpineNew []string
	for _, f := range content.Vulns.New {
		if f.Image != alpineImage || !strings.HasPrefix(f.ID, "ALPINE-FIXTURE-") {
			t.Errorf("unexpected new finding %+v", f)
		}
		alpineNew = append(alpineNew, f.ID+"/"+f.Package)
	}
	if v := secondRep.Summary.Vulns; len(alpineNew) < 2 || v.New != len(alpineNew) || v.Fixed != 0 || len(content.Vulns.Fixed) != 0 || v.Counts["high"] != firstRep.Summary.Vulns.Counts["high"]+2 {
		t.Errorf("second report: new %v, summary %+v (first %+v)", alpineNew, v, firstRep.Summary.Vulns)
	}
	if len(content.Vulns.TopImages) != 2 || content.Vulns.TopImages[0].Image == alpineImage {
		t.Errorf("top images %+v", content.Vulns.TopImages)
	}
	t.Logf("reports: first %+v, second %+v; new in the second: %v", *firstRep.Summary.Vulns, *secondRep.Summary.Vulns, alpineNew)
	csvB, code := s.get(t, fmt.Sprintf("/api/compliance/reports/%d/vulnerabilities.csv", secondRep.ID))
	csvRows, csvErr := csv.NewReader(bytes.NewReader(csvB)).ReadAll()
	if code != 200 || csvErr != nil || !bytes.Contains(csvB, []byte(alpineImage)) || !bytes.Contains(csvB, []byte("DEBIAN-FIXTURE-0001")) || len(csvRows) != len(content.Vulns.Findings)+1 {
		t.Errorf("vulnerability CSV: %d %.500s", code, csvB)
	}

	// The security events: the empty database was alarmed, the updates noted,
	// and the image with critical findings reported.
	waitFor(t, "security events", 30*time.Second, func() (bool, string) {
		reasons := map[string]int{}
		for _, e := range s.events(t, url.Values{"source": {"vigil/security"}, "range": {"1h"}}) {
			reasons[e.Reason]++
		}
		return reasons["VulnDBStale"] >= 1 && reasons["VulnDBUpdated"] >= 2 && reasons["VulnerableImage"] >= 1, fmt.Sprint(reasons)
	})

	t.Run("UI", func(t *testing.T) {
		br := openBrowser(t, s)
		br.open("/security", "#vuln-count-critical")
		br.waitText("#vuln-count-critical .card-value", 20*time.Second, func(s string) bool { return s == fmt.Sprint(appCrit) })
		if n := br.count("#vuln-top-images tbody tr"); n != 2 {
			t.Errorf("top images rows %d", n)
		}
		if txt := br.text("#vuln-top-cves tbody tr"); !strings.Contains(txt, "DEBIAN-FIXTURE-0001") {
			t.Errorf("top advisory row %q", txt)
		}
		if txt := br.text("#vuln-db-status"); !strings.Contains(txt, "Go") || strings.Contains(txt, "stale") {
			t.Errorf("db status %q", txt)
		}
		br.shot("security-overview.png")
		br.open("/security?tab=map", "#vuln-map")
		br.waitCount(`#vuln-map .vuln-wl`, 20*time.Second, func(n int) bool { return n == 3 })
		risk := func(wl string) string {
			return br.text(fmt.Sprintf(`[data-workload=%q] .vuln-wl-name`, wl)) + "/" + attr(t, br, fmt.Sprintf(`[data-workload=%q]`, wl), "data-risk")
		}
		if got := risk("shop/Deployment/web"); got != "web/critical" {
			t.Errorf("web on the map: %s", got)
		}
		// The map adds failed compliance controls when that area serves them.
		want := "high"
		if b, code := s.get(t, "/api/compliance/workloads"); code == 200 {
			var cw []struct {
				Namespace, Kind, Name string
				Failed                struct{ Critical int } `json:"failed"`
			}
			if err := json.Unmarshal(b, &cw); err == nil {
				for _, w := range cw {
					if w.Namespace == "payments" && w.Name == "ledger" && w.Failed.Critical > 0 {
						want = "critical"
					}
				}
			}
		}
		if got := risk("payments/Deployment/ledger"); got != "ledger/"+want {
			t.Errorf("ledger on the map: %s, want %s", got, want)
		}
		br.shot("security-map.png")
		br.open("/security/images/"+url.PathEscape(appDigest), "#vuln-remediation")
		if txt := br.text("#vuln-remediation li"); !strings.Contains(txt, "openssl") || !strings.Contains(txt, "base image") {
			t.Errorf("first remediation step %q", txt)
		}
		if n := br.count("#vuln-layers tbody tr"); n != 3 {
			t.Errorf("layers rows %d", n)
		}
		br.shot("security-image.png")
	})
}

func attr(t *testing.T, b *browser, sel, name string) string {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {getAttribute: () => ""}).getAttribute(%q) || ""`, sel, name)))
	if err != nil {
		t.Fatalf("attribute %s of %s: %v", name, sel, err)
	}
	return v
}
