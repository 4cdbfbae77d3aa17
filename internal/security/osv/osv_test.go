package osv

import (
	"strings"
	"testing"
)

func TestCVSS3Score(t *testing.T) {
	for vec, want := range map[string]float64{
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H": 9.8,
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H": 10.0,
		"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H": 7.8,
		"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:N": 4.8,
		"CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N": 6.1,
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H": 7.5,
		"CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N": 1.8,
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N": 0,
	} {
		got, err := CVSS3Score(vec)
		if err != nil || got != want {
			t.Errorf("%s = %v, %v; want %v", vec, got, err, want)
		}
	}
	for _, bad := range []string{"", "CVSS:2.0/AV:N", "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/C:H/I:H/A:H", "CVSS:3.1/AV"} {
		if _, err := CVSS3Score(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestAffectedCheck(t *testing.T) {
	a := Affected{Ranges: []Range{{Type: "SEMVER", Events: []Event{{Introduced: "0"}, {Fixed: "1.18.6"}, {Introduced: "1.19.0-0"}, {Fixed: "1.19.1"}}}}}
	for v, want := range map[string]Match{
		"1.18.5": {true, "1.18.6"}, "1.18.6": {}, "1.19.0": {true, "1.19.1"}, "1.19.1": {}, "1.20.0": {}, "v1.18.0": {true, "1.18.6"},
	} {
		got, err := a.Check("Go", v)
		if err != nil || got != want {
			t.Errorf("Go %s: %+v %v, want %+v", v, got, err, want)
		}
	}
	deb := Affected{Ranges: []Range{{Type: "ECOSYSTEM", Events: []Event{{Introduced: "0"}, {Fixed: "1:1.2.13.dfsg-1"}}}}}
	for v, want := range map[string]bool{"1.2.13.dfsg-1": true /* no epoch: epoch 0 < 1 */, "1:1.2.12-1": true, "1:1.2.13.dfsg-1": false, "1:1.2.13.dfsg-1+deb12u1": false, "1:1.2.13~rc1-1": true} {
		got, err := deb.Check("Debian:12", v)
		if err != nil || got.Affected != want {
			t.Errorf("Debian %s: %+v %v, want %v", v, got, err, want)
		}
	}
	last := Affected{Ranges: []Range{{Type: "ECOSYSTEM", Events: []Event{{Introduced: "1.0.0"}, {LastAffected: "1.2.0"}}}}, Versions: []string{"0.9.9"}}
	for v, want := range map[string]bool{"0.9.0": false, "0.9.9": true, "1.0.0": true, "1.2.0": true, "1.2.1": false} {
		got, err := last.Check("npm", v)
		if err != nil || got.Affected != want {
			t.Errorf("npm %s: %+v %v, want %v", v, got, err, want)
		}
	}
	apk := Affected{Ranges: []Range{{Type: "ECOSYSTEM", Events: []Event{{Introduced: "0"}, {Fixed: "1.36.1-r29"}}}}}
	if m, _ := apk.Check("Alpine:v3.20", "1.36.1-r28"); !m.Affected || m.Fixed != "1.36.1-r29" {
		t.Errorf("alpine -r28: %+v", m)
	}
	if m, _ := apk.Check("Alpine:v3.20", "1.36.1-r29"); m.Affected {
		t.Error("alpine -r29 affected")
	}
}

func TestEcosystemMatches(t *testing.T) {
	for _, c := range []struct {
		adv, pkg string
		want     bool
	}{{"Debian:12", "Debian:12", true}, {"Debian:11", "Debian:12", false}, {"Debian", "Debian:12", true}, {"Debian:12", "Debian", true}, {"Alpine:v3.20", "Debian:12", false}, {"Go", "Go", true}} {
		if got := EcosystemMatches(c.adv, c.pkg); got != c.want {
			t.Errorf("%s vs %s = %v", c.adv, c.pkg, got)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for name, in := range map[string]string{
		"invalid UTF-8": "{\"id\":\"\xff\"}",
		"no id":         `{"affected":[]}`,
		"bad id":        `{"id":"../x"}`,
		"no package":    `{"id":"A","affected":[{"package":{"name":""}}]}`,
		"range type":    `{"id":"A","affected":[{"package":{"name":"a","ecosystem":"Go"},"ranges":[{"type":"DATE","events":[]}]}]}`,
		"two in event":  `{"id":"A","affected":[{"package":{"name":"a","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0","fixed":"1"}]}]}]}`,
		"trailing":      `{"id":"A"} {}`,
		"huge":          `{"id":"A","details":"` + strings.Repeat("x", MaxRecordBytes) + `"}`,
	} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	r, err := Parse([]byte(`{"id":"GO-1","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],"affected":[{"package":{"name":"a","ecosystem":"Go"},"database_specific":{"x":1}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if rt := r.Rate(&r.Affected[0]); rt.Severity != SevCritical || rt.Score != 9.8 {
		t.Errorf("rating %+v", rt)
	}
	w, _ := Parse([]byte(`{"id":"X","database_specific":{"severity":"MODERATE"},"affected":[{"package":{"name":"a","ecosystem":"npm"}}]}`))
	if rt := w.Rate(&w.Affected[0]); rt.Severity != SevMedium {
		t.Errorf("word rating %+v", rt)
	}
}
