package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"sigs.k8s.io/yaml"
)

const tfDir = "../../deploy/terraform/aws-eks"

// tfBlocks parses every .tf file under dir and returns its top-level blocks.
func tfBlocks(t *testing.T, dir string) []*hclsyntax.Block {
	t.Helper()
	p := hclparse.NewParser()
	var blocks []*hclsyntax.Block
	n := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".tf" {
			return err
		}
		n++
		f, diags := p.ParseHCLFile(path)
		if diags.HasErrors() {
			t.Errorf("%s: %s", path, diags.Error())
			return nil
		}
		blocks = append(blocks, f.Body.(*hclsyntax.Body).Blocks...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 4 {
		t.Fatalf("only %d .tf files under %s", n, dir)
	}
	return blocks
}

func find(blocks []*hclsyntax.Block, typ string, labels ...string) *hclsyntax.Block {
	for _, b := range blocks {
		if b.Type == typ && slices.Equal(b.Labels, labels) {
			return b
		}
		if inner := find(b.Body.Blocks, typ, labels...); inner != nil {
			return inner
		}
	}
	return nil
}

func attr(t *testing.T, b *hclsyntax.Block, name string) cty.Value {
	t.Helper()
	a, ok := b.Body.Attributes[name]
	if !ok {
		t.Fatalf("%s %v has no %s", b.Type, b.Labels, name)
	}
	v, diags := a.Expr.Value(&hcl.EvalContext{})
	if diags.HasErrors() {
		return cty.DynamicVal // depends on variables
	}
	return v
}

func TestTerraformModule(t *testing.T) {
	blocks := tfBlocks(t, tfDir)
	eks := find(blocks, "resource", "aws_eks_cluster", "this")
	if eks == nil {
		t.Fatal("no aws_eks_cluster")
	}
	var logTypes []string
	for _, v := range attr(t, eks, "enabled_cluster_log_types").AsValueSlice() {
		logTypes = append(logTypes, v.AsString())
	}
	slices.Sort(logTypes)
	if strings.Join(logTypes, ",") != "api,audit,authenticator,controllerManager,scheduler" {
		t.Errorf("control-plane logs %v", logTypes)
	}
	vpcCfg := find(eks.Body.Blocks, "vpc_config")
	if v := attr(t, vpcCfg, "endpoint_public_access"); v.IsKnown() && v.True() {
		t.Error("public API endpoint")
	}
	if find(eks.Body.Blocks, "encryption_config") == nil {
		t.Error("secrets are not encrypted with KMS")
	}
	for _, name := range []string{"public", "private"} {
		sn := find(blocks, "resource", "aws_subnet", name)
		if sn == nil || attr(t, sn, "count").AsBigFloat().String() != "3" {
			t.Errorf("%s subnets are not one per AZ over 3 AZs", name)
		}
	}
	if find(blocks, "resource", "aws_nat_gateway", "this") == nil {
		t.Error("no NAT gateway")
	}
	ng := find(blocks, "resource", "aws_eks_node_group", "this")
	if ng == nil || find(ng.Body.Blocks, "scaling_config") == nil {
		t.Fatal("no managed node group with scaling_config")
	}
	for _, k := range []string{"min_size", "desired_size", "max_size"} {
		if _, ok := find(ng.Body.Blocks, "scaling_config").Body.Attributes[k]; !ok {
			t.Errorf("scaling_config lacks %s", k)
		}
	}
	ver := find(blocks, "variable", "kubernetes_version")
	if v := attr(t, ver, "default").AsString(); v < "1.32" {
		t.Errorf("default Kubernetes version %s is not current", v)
	}
	hr := find(blocks, "resource", "helm_release", "vigil")
	if hr == nil || attr(t, hr, "name").AsString() != "vigil" {
		t.Error("no helm_release of vigil")
	}

	be := find(tfBlocks(t, tfDir), "backend", "s3")
	if be == nil {
		t.Fatal("example has no S3 backend")
	}
	if !attr(t, be, "encrypt").True() {
		t.Error("example backend does not encrypt the state")
	}
	if !attr(t, be, "use_lockfile").True() {
		t.Error("example backend does not lock the state")
	}
}

func TestTerraformFmt(t *testing.T) {
	tf, err := exec.LookPath("terraform")
	if err != nil {
		// The one step allowed to be left out: no terraform binary on this machine.
		t.Log("terraform binary not found: `terraform fmt -check` was not run (HCL parsing above still ran)")
		return
	}
	out, err := exec.Command(tf, "fmt", "-check", "-recursive", "-diff", tfDir).CombinedOutput()
	if err != nil {
		t.Fatalf("terraform fmt -check: %v\n%s", err, out)
	}
	// A badly formatted copy must fail, or the check proves nothing.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.tf"), []byte("variable \"x\" {\ndefault=1\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command(tf, "fmt", "-check", dir).Run(); err == nil {
		t.Fatal("terraform fmt -check accepted a badly formatted file")
	}
}

func TestPipelines(t *testing.T) {
	load := func(path string) map[string]any {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return m
	}
	text := func(v any) string { b, _ := yaml.Marshal(v); return string(b) }
	inOrder := func(what, s string, words ...string) {
		at := 0
		for _, w := range words {
			i := strings.Index(s[at:], w)
			if i < 0 {
				t.Errorf("%s: %q missing or out of order (want %v)", what, w, words)
				return
			}
			at += i + len(w)
		}
	}

	gi := load("../../deploy/pipelines/github/infrastructure.yml")
	jobs := gi["jobs"].(map[string]any)
	apply := jobs["apply"].(map[string]any)
	if apply["needs"] != "plan" || apply["environment"] != "production" {
		t.Errorf("GitHub apply job does not wait for the plan and an approved environment: %v", apply)
	}
	inOrder("GitHub infrastructure", text(jobs["plan"])+text(apply),
		"terraform fmt -check", "terraform validate", "vigil scan iac", "terraform plan", "terraform apply")

	gt := load("../../deploy/pipelines/github/tools.yml")["jobs"].(map[string]any)
	if d := gt["deploy"].(map[string]any); d["needs"] != "plan" || d["environment"] != "cluster-tools" {
		t.Errorf("GitHub tools deploy job does not wait for the plan and an approved environment: %v", d)
	}
	inOrder("GitHub tools", text(gt["plan"])+text(gt["deploy"]), "vigil diff", "vigil install --yes", "/readyz", "/api/automation/status")

	ai := load("../../deploy/pipelines/azure/infrastructure.yml")
	inOrder("Azure infrastructure", text(ai["stages"]),
		"terraform fmt -check", "terraform validate", "vigil scan iac", "terraform plan", "ManualValidation@1", "terraform apply")
	at := load("../../deploy/pipelines/azure/tools.yml")
	inOrder("Azure tools", text(at["stages"]), "vigil diff", "ManualValidation@1", "vigil install --yes", "/readyz", "/api/automation/status")
}
