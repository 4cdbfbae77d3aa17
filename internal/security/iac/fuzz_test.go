package iac

import (
	"testing"

	"vigil/internal/security/compliance"
)

// Any input either fails cleanly or yields objects the engine accepts.
func FuzzManifests(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: x}]}\n"))
	f.Add([]byte("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n"))
	f.Add([]byte("a: &x {b: 1}\nc: *x\n<<: *x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := Manifests("f.yaml", data)
		if err != nil {
			return
		}
		if _, err := compliance.KubeObjects(ms); err != nil {
			t.Fatalf("decoded manifests rejected: %v", err)
		}
	})
}

func FuzzTerraform(f *testing.F) {
	f.Add([]byte("terraform {\n  backend \"s3\" {\n    encrypt = false\n  }\n}\n"))
	f.Add([]byte("resource \"aws_security_group\" \"x\" {\n  ingress {\n    cidr_blocks = [\"0.0.0.0/0\", var.x]\n  }\n}\n"))
	f.Add([]byte("module \"eks\" {\n  source = \"terraform-aws-modules/eks/aws\"\n  tags = { a = local.b }\n}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := Terraform("f.tf", data)
		if err != nil {
			return
		}
		for _, o := range objs {
			if o.File != "f.tf" || o.Line <= 0 {
				t.Fatalf("object without a location: %+v", o)
			}
		}
	})
}
