package vuln_test

import (
	"slices"
	"testing"

	"vigil/internal/security/vuln"
)

func TestSummarizeRanksImagesAndFixableAdvisories(t *testing.T) {
	web := vuln.ClusterImage{Image: "r/web:1", Repository: "r/web", Digest: "sha256:w", Status: "done", Scanned: true, Containers: 6}
	db := vuln.ClusterImage{Image: "r/db:1", Repository: "r/db", Digest: "sha256:d", Status: "done", Scanned: true, Containers: 1}
	bad := vuln.ClusterImage{Image: "r/bad:1", Repository: "r/bad", Digest: "sha256:b", Status: "error", Containers: 2}
	f := func(im vuln.ClusterImage, pkg, id, sev, fixed string, score float64) vuln.ClusterFinding {
		return vuln.ClusterFinding{Image: im.Image, Repository: im.Repository, Digest: im.Digest, Package: pkg, Version: "1", Fixed: fixed,
			ID: id, Severity: sev, Score: score, Containers: im.Containers}
	}
	scan := &vuln.ClusterScan{Images: []vuln.ClusterImage{web, db, bad}, Findings: []vuln.ClusterFinding{
		f(web, "libssl3", "DEB-1", "high", "3.0.15", 7.5),
		f(web, "openssl", "DEB-1", "high", "3.0.15", 7.5),
		f(web, "zlib", "DEB-2", "low", "", 0),
		f(db, "libssl3", "DEB-1", "high", "3.0.14", 7.5),
		f(db, "glibc", "DEB-3", "critical", "2.36-9", 9.8),
		f(db, "x/text", "GO-1", "unknown", "0.3.8", 0),
	}}
	s := vuln.Summarize(scan, 2)
	if s.Images != 3 || s.Scanned != 2 || s.Failed != 1 || s.Containers != 9 || s.Findings != 6 || s.Fixable != 5 ||
		s.Counts["critical"] != 1 || s.Counts["high"] != 3 || s.Counts["low"] != 1 || s.Counts["unknown"] != 1 || s.Counts["medium"] != 0 {
		t.Errorf("summary %+v", s)
	}
	// db: 1 critical outweighs web's 2 high; the image without findings is not listed.
	if len(s.TopImages) != 2 || s.TopImages[0].Image != "r/db:1" || s.TopImages[1].Findings != 3 || s.TopImages[1].Fixable != 2 {
		t.Errorf("top images %+v", s.TopImages)
	}
	// Critical first; DEB-1 counts each image once, lists its packages and both fixed versions.
	if len(s.TopFixable) != 2 || s.TopFixable[0].ID != "DEB-3" {
		t.Fatalf("top fixable %+v", s.TopFixable)
	}
	d := s.TopFixable[1]
	if d.ID != "DEB-1" || d.Images != 2 || d.Containers != 7 || !slices.Equal(d.Packages, []string{"libssl3", "openssl"}) || !slices.Equal(d.Fixed, []string{"3.0.14", "3.0.15"}) {
		t.Errorf("DEB-1 %+v", d)
	}
	if all := vuln.Summarize(scan, 0); len(all.TopFixable) != 3 || all.TopFixable[2].ID != "GO-1" {
		t.Errorf("unbounded top fixable %+v", all.TopFixable)
	}
}

func TestClusterFindingKeyIgnoresDigestAndVersion(t *testing.T) {
	a := vuln.ClusterFinding{Repository: "r/web", Digest: "sha256:1", Package: "openssl", Version: "3.0.11", ID: "DEB-1"}
	b := a
	b.Digest, b.Version, b.Image = "sha256:2", "3.0.13", "r/web:2"
	if a.Key() != b.Key() {
		t.Error("a rebuilt image changes the key")
	}
	b.Repository = "r/other"
	if a.Key() == b.Key() {
		t.Error("another repository has the same key")
	}
}
