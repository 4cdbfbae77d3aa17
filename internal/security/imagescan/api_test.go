package imagescan

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"vigil/internal/security/inventory"
	"vigil/internal/security/vuln"
	"vigil/internal/security/vulndb"
	"vigil/internal/store/state"
)

func TestDigestOf(t *testing.T) {
	d := "sha256:" + "ab"[:1] + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"
	for in, want := range map[string]string{
		"docker-pullable://reg.example/app@" + d: d,
		"reg.example/app@" + d:                   d,
		d:                                        "", // a local image id, not pullable
		"docker://sha256:abc":                    "",
		"":                                       "",
	} {
		if got, _ := digestOf(in); got != want {
			t.Errorf("digestOf(%q) = %q, want %q", in, got, want)
		}
	}
}

// The workload rows sum the distinct images of a workload once each, however
// many replicas run them, and keep the agreed field names.
func TestWorkloadsAggregateDistinctImages(t *testing.T) {
	ctx := context.Background()
	st, err := state.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := New(ctx, Options{DB: st.DB(), DBDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	cs := []container{
		{Namespace: "shop", Pod: "web-1", Container: "app", Kind: "Deployment", Workload: "web", Image: "r/app:1", Digest: "sha256:a"},
		{Namespace: "shop", Pod: "web-2", Container: "app", Kind: "Deployment", Workload: "web", Image: "r/app:1", Digest: "sha256:a"},
		{Namespace: "shop", Pod: "web-1", Container: "proxy", Kind: "Deployment", Workload: "web", Image: "r/proxy:1", Digest: "sha256:b"},
		{Namespace: "ops", Pod: "job-1", Container: "job", Kind: "Job", Workload: "job", Image: "r/app:1", Digest: "sha256:a"},
	}
	if err := replaceContainers(ctx, st.DB(), cs, map[string]string{"sha256:a": "r/app@sha256:a", "sha256:b": "r/proxy@sha256:b"}); err != nil {
		t.Fatal(err)
	}
	rep := vuln.Build(&inventory.Inventory{}, vulndb.FromRecords(vulndb.Meta{}, nil), time.Now())
	rep.Counts = map[string]int{"critical": 2, "high": 1}
	rep.Findings = []vuln.Finding{{ID: "X-1", Package: "p", Severity: "critical", Fixed: "2"}, {ID: "X-2", Package: "p", Severity: "critical"}, {ID: "X-3", Package: "q", Severity: "high", Fixed: "1"}}
	if err := saveReport(ctx, st.DB(), "sha256:a", nil, rep, time.Now()); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	s.Register(mux, func(h http.Handler) http.Handler { return h })
	get := func(path string, v any) {
		t.Helper()
		rr := httptest.NewRecorder()
		mux.ServeHTTP(rr, httptest.NewRequest("GET", path, nil))
		if rr.Code != 200 {
			t.Fatalf("%s: %d %s", path, rr.Code, rr.Body)
		}
		if err := json.Unmarshal(rr.Body.Bytes(), v); err != nil {
			t.Fatal(err)
		}
	}
	var wls []map[string]any
	get("/api/vulns/workloads", &wls)
	byName := map[string]map[string]any{}
	for _, w := range wls {
		byName[w["namespace"].(string)+"/"+w["kind"].(string)+"/"+w["name"].(string)] = w
	}
	web := byName["shop/Deployment/web"]
	if web == nil || web["images"].(float64) != 2 || web["vulns"].(map[string]any)["critical"].(float64) != 2 || web["fixable"].(float64) != 2 || web["pending"].(float64) != 1 {
		t.Errorf("web %v", web)
	}
	if job := byName["ops/Job/job"]; job == nil || job["images"].(float64) != 1 {
		t.Errorf("job %v", job)
	}
	var ov struct {
		Counts  map[string]int `json:"counts"`
		TopCVEs []struct {
			ID         string
			Containers int
		} `json:"topCVEs"`
	}
	get("/api/vulns/overview", &ov)
	if ov.Counts["critical"] != 2 || len(ov.TopCVEs) != 3 || ov.TopCVEs[0].Containers != 3 {
		t.Errorf("overview %+v", ov)
	}
	rr := httptest.NewRecorder()
	mux.ServeHTTP(rr, httptest.NewRequest("GET", "/api/vulns/images/sha256:zzz", nil))
	if rr.Code != 404 {
		t.Errorf("unknown digest %d", rr.Code)
	}
}
