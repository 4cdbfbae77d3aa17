package osv

import "testing"

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"id":"GO-2022-0969","affected":[{"package":{"name":"stdlib","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.18.6"}]}]}]}`))
	f.Add([]byte(`{"id":"D-1","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],"affected":[{"package":{"name":"openssl","ecosystem":"Debian:12"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.0.20-1~deb12u1"}]}],"versions":["3.0.19-1"]}]}`))
	f.Add([]byte(`{"id":"A-1","affected":[{"package":{"name":"busybox","ecosystem":"Alpine:v3.20"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"1.0-r0"},{"last_affected":"1.36.1-r28"}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data)
		if err != nil {
			return
		}
		if r.ID == "" {
			t.Fatal("accepted a record without id")
		}
		for i := range r.Affected {
			a := &r.Affected[i]
			_ = r.Rate(a)
			// Matching must never panic, whatever the versions say.
			for _, v := range []string{"0", "1.0.0", "3.0.19-1~deb12u2", "1.36.1-r28", "v0.0.0-20220906165146-f3363e06e74c"} {
				_, _ = a.Check(a.Package.Ecosystem, v)
			}
		}
	})
}

func FuzzCVSS3Score(f *testing.F) {
	f.Add("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
	f.Add("CVSS:3.0/AV:P/AC:H/PR:H/UI:R/S:C/C:N/I:L/A:N")
	f.Add("CVSS:3.1/AV:N")
	f.Fuzz(func(t *testing.T, vec string) {
		s, err := CVSS3Score(vec)
		if err != nil {
			return
		}
		if s < 0 || s > 10 {
			t.Fatalf("score %v out of range for %q", s, vec)
		}
	})
}
