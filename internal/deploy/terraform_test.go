package deploy

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestParseTerraformDrift(t *testing.T) {
	f, err := os.Open("testdata/plan-drift.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ds, err := ParseTerraformDrift(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 3 {
		t.Fatalf("%d drifted resources, want 3", len(ds))
	}
	by := map[string]TerraformDrift{}
	for _, d := range ds {
		by[d.Address] = d
	}
	ng := by["module.eks.aws_eks_node_group.this"]
	var got []string
	for _, c := range ng.Changes {
		got = append(got, c.BeforeAfter())
	}
	want := []string{"scaling_config[0].max_size: 6 → 12", `tags.owner: (unset) → "someone-in-the-console"`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("node group changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if sg := by["module.eks.aws_security_group_rule.extra"]; sg.Actions[0] != "delete" || len(sg.Changes) != 4 || sg.Changes[0].Op != "missing" {
		t.Errorf("deleted rule: %+v", sg)
	}
	db := by["module.eks.aws_db_instance.meta"]
	var buf bytes.Buffer
	WriteTerraformDrift(&buf, []TerraformDrift{db})
	if strings.Contains(buf.String(), "secret") || !strings.Contains(buf.String(), "aws_db_instance.meta") {
		t.Errorf("sensitive value shown or resource missing:\n%s", buf.String())
	}
}

func TestParseTerraformDriftRejectsBadInput(t *testing.T) {
	for name, in := range map[string]string{
		"not JSON":      "resource_drift = []",
		"not a plan":    `{"resource_drift": []}`,
		"format 2":      `{"format_version": "2.0"}`,
		"no address":    `{"format_version": "1.2", "resource_drift": [{"change": {"actions": ["update"]}}]}`,
		"invalid UTF-8": "{\"format_version\": \"1.2\", \"x\": \"\xff\"}",
		"truncated":     `{"format_version": "1.2", "resource_drift": [`,
	} {
		if _, err := ParseTerraformDrift(strings.NewReader(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	ds, err := ParseTerraformDrift(strings.NewReader(`{"format_version": "1.2"}`))
	if err != nil || len(ds) != 0 {
		t.Errorf("plan without drift: %v %v", ds, err)
	}
}

func FuzzParseTerraformDrift(f *testing.F) {
	seed, err := os.ReadFile("testdata/plan-drift.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"format_version":"1.2","resource_drift":[{"address":"a.b","change":{"actions":["update"],"before":{"x":[1,{"y":2}]},"after":{"x":[1]},"after_sensitive":{"x":[false,true]}}}]}`))
	f.Add([]byte(`{"format_version":"1.0"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ds, err := ParseTerraformDrift(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, d := range ds {
			if d.Address == "" {
				t.Fatal("drift without address")
			}
		}
		var buf bytes.Buffer
		WriteTerraformDrift(&buf, ds)
	})
}
