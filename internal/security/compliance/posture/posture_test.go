package posture

import (
	"testing"

	"vigil/internal/security/compliance"
)

func TestDiff(t *testing.T) {
	f := func(ctl, name, status string) compliance.Finding {
		return compliance.Finding{ControlID: ctl, Name: name, Kind: "Deployment", Namespace: "a", Status: status, Severity: "high", Message: ctl + " on " + name}
	}
	excepted := f("C3", "x", "fail")
	excepted.Exception = &compliance.Exception{Control: "C3"}
	prev := []compliance.Finding{f("C1", "x", "fail"), f("C2", "x", "fail"), f("C4", "x", "unknown")}
	cur := []compliance.Finding{f("C2", "x", "fail"), f("C1", "y", "fail"), excepted, f("C5", "x", "unknown")}
	added, fixed := Diff(prev, cur)
	if len(added) != 1 || added[0].ControlID != "C1" || added[0].Name != "y" {
		t.Errorf("added %+v", added)
	}
	if len(fixed) != 1 || fixed[0].ControlID != "C1" || fixed[0].Name != "x" {
		t.Errorf("fixed %+v", fixed)
	}
}
