package vuln_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"vigil/internal/security/inventory"
	"vigil/internal/security/vuln"
	"vigil/internal/security/vuln/vulntest"
	"vigil/internal/security/vulndb"
)

var (
	imgOnce sync.Once
	testImg *vulntest.Image
	imgErr  error
)

// image builds the real test image once per test binary.
func image(t *testing.T) *vulntest.Image {
	t.Helper()
	imgOnce.Do(func() {
		dir, err := osMkdirTemp()
		if err != nil {
			imgErr = err
			return
		}
		testImg, imgErr = vulntest.Build(context.Background(), dir)
	})
	if imgErr != nil {
		t.Fatal(imgErr)
	}
	return testImg
}

func importDB(t *testing.T, paths ...string) *vulndb.DB {
	t.Helper()
	dir := t.TempDir()
	for _, p := range paths {
		if _, err := vulndb.Import(dir, p, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	db, err := vulndb.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func goDB(t *testing.T) string {
	t.Helper()
	dir, err := vulntest.GoVulnDBDir(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func ids(fs []vuln.Finding, pkg string) []string {
	var out []string
	for _, f := range fs {
		if f.Package == pkg {
			out = append(out, f.ID)
		}
	}
	return out
}

func finding(t *testing.T, fs []vuln.Finding, id, pkg string) vuln.Finding {
	t.Helper()
	for _, f := range fs {
		if f.ID == id && f.Package == pkg {
			return f
		}
	}
	t.Fatalf("no finding %s for %s", id, pkg)
	return vuln.Finding{}
}

func TestScanRealImageWithGoVulnDBAndDebianFixtures(t *testing.T) {
	ctx := context.Background()
	im := image(t)
	dir := t.TempDir()
	tarPath := filepath.Join(dir, "img.tar")
	if err := vulntest.WriteTarball(im.Image, tarPath, "vigil.test/app:1"); err != nil {
		t.Fatal(err)
	}
	db := importDB(t, goDB(t), "testdata/osv/debian")
	rep, err := vuln.ScanRef(ctx, tarPath, inventory.OpenOptions{}, db)
	if err != nil {
		t.Fatal(err)
	}
	var debs, gomods int
	for _, p := range rep.Packages {
		switch p.Type {
		case "deb":
			debs++
			if p.Layer != 0 {
				t.Errorf("deb %s attributed to layer %d, want 0", p.Name, p.Layer)
			}
		case "golang":
			gomods++
			if p.Layer != 2 || p.Path != im.Binary {
				t.Errorf("go package %s at layer %d path %s", p.Name, p.Layer, p.Path)
			}
		}
	}
	if debs < 500 {
		t.Errorf("found %d Debian packages, want the machine's ≈700+", debs)
	}
	if gomods < 3 {
		t.Errorf("found %d Go packages, want stdlib, x/net and x/text", gomods)
	}
	if !strings.Contains(rep.OS, "Debian") {
		t.Errorf("OS = %q", rep.OS)
	}
	// The Go vulnerability database lists these for the versions built in.
	for pkg, want := range map[string][]string{
		"golang.org/x/net":  {"GO-2026-4918", "GO-2026-5025", "GO-2026-6603", "GO-2026-6860"},
		"golang.org/x/text": {"GO-2026-6629"},
		"go":                {"GO-2026-6599", "GO-2026-6809"},
	} {
		got := ids(rep.Findings, pkg)
		for _, id := range want {
			if !slices.Contains(got, id) {
				t.Errorf("%s: missing %s; got %v", pkg, id, got)
			}
		}
	}
	// Fixed in v0.51.0 itself: must not be reported.
	if slices.Contains(ids(rep.Findings, "golang.org/x/net"), "GO-2026-4559") {
		t.Error("GO-2026-4559 (fixed in x/net 0.51.0) reported for 0.51.0")
	}
	f := finding(t, rep.Findings, "GO-2026-6629", "golang.org/x/text")
	if f.Fixed != "0.41.0" || !strings.Contains(f.Remediation, "go get golang.org/x/text@v0.41.0") || !strings.Contains(f.Remediation, "layer 2") {
		t.Errorf("x/text remediation: fixed=%q %q", f.Fixed, f.Remediation)
	}
	if f.BaseLayer {
		t.Error("the Go binary is not in the base image")
	}
	// Debian fixtures: source-package matching, severities, epochs, suffixes.
	ssl := finding(t, rep.Findings, "DEBIAN-FIXTURE-0001", "openssl")
	if ssl.Severity != "critical" || ssl.Score != 9.8 || ssl.Fixed != "3.0.20-1~deb12u1" {
		t.Errorf("openssl finding: %+v", ssl)
	}
	if !ssl.BaseLayer || !strings.Contains(ssl.Remediation, "apt-get install --only-upgrade openssl") || !strings.Contains(ssl.Remediation, "base image") {
		t.Errorf("openssl remediation: %q", ssl.Remediation)
	}
	libc := finding(t, rep.Findings, "DEBIAN-FIXTURE-0002", "libc6") // source package glibc
	if libc.Severity != "high" || libc.Score != 7.8 {
		t.Errorf("glibc finding: %+v", libc)
	}
	if b := finding(t, rep.Findings, "DEBIAN-FIXTURE-0004", "bash"); b.Severity != "low" {
		t.Errorf("bash (binNMU 5.2.15-2+b8 of source 5.2.15-2): %+v", b)
	}
	if tar := finding(t, rep.Findings, "DEBIAN-FIXTURE-0006", "tar"); tar.Fixed != "" || tar.Severity != "medium" || !strings.Contains(tar.Remediation, "No fixed version") {
		t.Errorf("tar (no fix): %+v", tar)
	}
	for _, f := range rep.Findings {
		if f.ID == "DEBIAN-FIXTURE-0005" || f.ID == "DEBIAN-FIXTURE-0007" {
			t.Errorf("%s must not match (%s %s)", f.ID, f.Package, f.Version)
		}
	}
	if rep.Counts["critical"] < 1 || rep.Counts["high"] < 1 {
		t.Errorf("counts %v", rep.Counts)
	}
	if len(rep.Warnings) != 0 {
		t.Errorf("warnings with full data: %v", rep.Warnings)
	}
	if rep.DB.Stale || rep.DB.Records < 4000 {
		t.Errorf("db info %+v", rep.DB)
	}
	// One remediation per package, upgrading to the highest fixed version.
	var net *vuln.Remediation
	for i := range rep.Remediations {
		if rep.Remediations[i].Package == "golang.org/x/net" {
			net = &rep.Remediations[i]
		}
	}
	if net == nil || net.To != "0.62.0" || net.Findings < 5 {
		t.Errorf("x/net remediation %+v", net)
	}
}

func TestScanOCILayoutMatchesTarball(t *testing.T) {
	im := image(t)
	dir := filepath.Join(t.TempDir(), "oci")
	if err := vulntest.WriteLayout(im.Image, dir); err != nil {
		t.Fatal(err)
	}
	db := importDB(t, goDB(t))
	rep, err := vuln.ScanRef(context.Background(), dir, inventory.OpenOptions{}, db)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := im.Image.Digest()
	if rep.Kind != "oci-layout" || rep.Digest != want.String() {
		t.Errorf("kind %s digest %s, want %s", rep.Kind, rep.Digest, want)
	}
	if !slices.Contains(ids(rep.Findings, "golang.org/x/text"), "GO-2026-6629") {
		t.Error("GO-2026-6629 missing from the OCI layout scan")
	}
}

// The trap of matchers that treat a missing ecosystem archive as a failure of
// the whole scan: Debian packages without Debian data must not hide Go findings.
func TestMissingEcosystemDataDoesNotHideOthers(t *testing.T) {
	im := image(t)
	rep, err := vuln.ScanImage(context.Background(), im.Image, inventory.Source{Kind: "test"}, importDB(t, goDB(t)))
	if err != nil {
		t.Fatal(err)
	}
	if len(ids(rep.Findings, "golang.org/x/net")) == 0 {
		t.Fatal("no Go findings when Debian data is missing")
	}
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "no vulnerability data for ecosystem Debian") {
		t.Errorf("warnings %v", rep.Warnings)
	}
	// And the other way round: only Debian data.
	rep, err = vuln.ScanImage(context.Background(), im.Image, inventory.Source{Kind: "test"}, importDB(t, "testdata/osv/debian"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ids(rep.Findings, "openssl")) != 1 || len(ids(rep.Findings, "golang.org/x/net")) != 0 {
		t.Errorf("Debian-only data: %d findings", len(rep.Findings))
	}
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "ecosystem Go") {
		t.Errorf("warnings %v", rep.Warnings)
	}
}

func TestAlpineImage(t *testing.T) {
	img, err := vulntest.AlpineImage()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := vuln.ScanImage(context.Background(), img, inventory.Source{Kind: "test"}, importDB(t, "testdata/osv/alpine"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Packages) != 3 {
		t.Fatalf("packages %+v", rep.Packages)
	}
	got := map[string]string{}
	for _, f := range rep.Findings {
		got[f.ID] = f.Package + " " + f.Fixed + " " + f.Severity
	}
	want := map[string]string{
		"ALPINE-FIXTURE-0001": "libcrypto3 3.3.2-r1 high", // origin openssl
		"ALPINE-FIXTURE-0002": "busybox 1.36.1-r29 high",
	}
	if len(got) != len(want) {
		t.Errorf("findings %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	for _, f := range rep.Findings {
		if !strings.Contains(f.Remediation, "apk upgrade "+f.Package) {
			t.Errorf("remediation %q", f.Remediation)
		}
	}
}

func TestStaleDatabaseIsReported(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-10 * 24 * time.Hour)
	if _, err := vulndb.Import(dir, "testdata/osv/alpine", old); err != nil {
		t.Fatal(err)
	}
	db, err := vulndb.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := vulntest.AlpineImage()
	rep, err := vuln.ScanImage(context.Background(), img, inventory.Source{}, db)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.DB.Stale || rep.DB.AgeSeconds < 9*24*3600 {
		t.Errorf("db %+v", rep.DB)
	}
	if len(rep.Warnings) == 0 || !strings.Contains(strings.Join(rep.Warnings, "\n"), "10 days old") {
		t.Errorf("warnings %v", rep.Warnings)
	}
	// Empty database: a warning, not a clean bill of health.
	rep, err = vuln.ScanImage(context.Background(), img, inventory.Source{}, vulndb.FromRecords(vulndb.Meta{}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(rep.Warnings, "\n"), "database is empty") {
		t.Errorf("warnings %v", rep.Warnings)
	}
}
