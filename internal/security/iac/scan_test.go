package iac

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"vigil/internal/security/compliance"
)

func scanStudy(t *testing.T) (*Inputs, *compliance.Result) {
	t.Helper()
	ctx := context.Background()
	e, err := compliance.Load(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	in, err := Load(ctx, "testdata/study")
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.Evaluate(ctx, in.Objects, compliance.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return in, r
}

func has(r *compliance.Result, control, status, where, path string) bool {
	for _, f := range r.Findings {
		if f.ControlID == control && f.Status == status && f.Where() == where && (path == "" || f.Path == path) {
			return true
		}
	}
	return false
}

func dump(r *compliance.Result) string {
	var b strings.Builder
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "  %s %s %s %s %s\n", f.ControlID, f.Status, f.Where(), f.Path, f.Message)
	}
	return b.String()
}

func TestTerraformStudyTree(t *testing.T) {
	_, r := scanStudy(t)
	const tf = "testdata/study/terraform/"
	want := []struct{ control, status, where, path string }{
		{"VGL-TF-001", "fail", tf + "backend.tf:8", "encrypt"},
		{"VGL-TF-002", "fail", tf + "eks.tf:9", "cluster_enabled_log_types"},
		{"VGL-TF-002", "fail", tf + "eks.tf:15", ""},
		{"VGL-TF-003", "fail", tf + "eks.tf:8", "cluster_endpoint_public_access"},
		{"VGL-TF-003", "fail", tf + "eks.tf:22", "vpc_config[0].public_access_cidrs[0]"},
		{"VGL-TF-004", "fail", tf + "nodes.tf:1", ""},
		{"VGL-TF-004", "unknown", tf + "nodes.tf:9", "encrypted"},
		{"VGL-TF-004", "fail", tf + "nodes.tf:19", "block_device_mappings[0].ebs[0].encrypted"},
		{"VGL-TF-005", "fail", tf + "nodes.tf:33", "ingress[0].cidr_blocks[0]"},
		{"VGL-TF-005", "unknown", tf + "nodes.tf:41", "ingress[1].cidr_blocks"},
		{"VGL-TF-005", "fail", tf + "nodes.tf:50", "cidr_blocks[1]"},
		{"VGL-TF-006", "fail", tf + "eks.tf:15", ""},
	}
	for _, w := range want {
		if !has(r, w.control, w.status, w.where, w.path) {
			t.Errorf("missing %s %s at %s (%s); findings:\n%s", w.control, w.status, w.where, w.path, dump(r))
		}
	}
	for _, f := range r.Findings {
		if f.ControlID == "VGL-TF-005" && strings.Contains(f.Path, "ingress[1]") && f.Status == "fail" {
			t.Errorf("variable cidr reported as fail: %+v", f)
		}
	}
}

func TestManifestsChartsKustomize(t *testing.T) {
	in, r := scanStudy(t)
	const k = "testdata/study/k8s/insecure.yaml"
	want := []struct{ control, where, path string }{
		{"VGL-K8S-001", k + ":18", "spec.template.spec.containers[0].securityContext.privileged"},
		{"VGL-K8S-002", k + ":13", "spec.template.spec.hostPID"},
		{"VGL-K8S-010", k + ":23", "spec.template.spec.volumes[0].hostPath"},
		{"VGL-K8S-018", k + ":12", "spec.template.spec"},
		{"VGL-K8S-101", k + ":35", "subjects[0]"},
		{"VGL-K8S-004", "testdata/study/chart/templates/deployment.yaml (rendered):14", "spec.template.spec.hostNetwork"},
		{"VGL-K8S-008", "testdata/study/overlay (kustomize build):2", "spec.template.spec.containers[0].securityContext.capabilities.add[0]"},
	}
	for _, w := range want {
		found := false
		for _, f := range r.Findings {
			if f.ControlID == w.control && f.Status == "fail" && strings.HasPrefix(f.Where(), w.where) && strings.HasPrefix(f.Path, w.path) {
				found = true
			}
		}
		if !found {
			t.Errorf("missing %s at %s (%s); findings:\n%s", w.control, w.where, w.path, dump(r))
		}
	}
	var skipped bool
	for _, n := range in.Notes {
		if strings.HasSuffix(n.File, "broken-template.yaml") && !n.Error && strings.Contains(n.Message, "Go template") {
			skipped = true
		}
		if n.Error {
			t.Errorf("unexpected error note: %+v", n)
		}
	}
	if !skipped {
		t.Errorf("template outside a chart not reported as skipped: %+v", in.Notes)
	}
}

func TestBadInput(t *testing.T) {
	cases := map[string][]byte{
		"invalid UTF-8": []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: \xff}\n"),
		"malformed":     []byte("apiVersion: v1\nkind: [Pod\n"),
		"huge":          []byte(strings.Repeat("a", MaxFileBytes+1)),
		"alias bomb":    []byte("a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"),
	}
	for name, data := range cases {
		if _, err := Manifests("x.yaml", data); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := Terraform("x.tf", []byte("resource \"a\" {\n")); err == nil || !strings.Contains(err.Error(), "x.tf:") {
		t.Errorf("malformed HCL: %v", err)
	}
}
