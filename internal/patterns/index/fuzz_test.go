package index

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseStreamQuery: any input either is not a stream-only query, or
// parses into exact filters on stream columns whose rendering parses back
// to the same filters.
func FuzzParseStreamQuery(f *testing.F) {
	for _, s := range []string{"", "*", `{namespace="shop"}`, `{namespace="a", container='b'}`, `namespace:=shop AND pod:="web-1"`,
		`{namespace="a"} namespace:=b`, `error`, `{namespace!="x"}`, `{`, `namespace:="\u00e9\\"x"`, "pod:=`raw`", `{pod="a,b", node="n}"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		sf, ok, err := ParseStreamQuery(q)
		if err != nil || !ok {
			if ok {
				t.Fatalf("%q: ok with error %v", q, err)
			}
			return
		}
		for k, v := range sf {
			if !isStreamColumn(k) {
				t.Fatalf("%q: filter on %q, not a stream column", q, k)
			}
			if utf8.ValidString(q) && !utf8.ValidString(v) {
				t.Fatalf("%q: value %q is not valid UTF-8", q, v)
			}
		}
		again, ok2, err2 := ParseStreamQuery(sf.LogsQL())
		if !ok2 || err2 != nil || len(again) != len(sf) {
			t.Fatalf("%q → %q does not parse back (%v %v)", q, sf.LogsQL(), ok2, err2)
		}
		for k, v := range sf {
			if again[k] != v {
				t.Fatalf("%q → %q: %s=%q came back as %q", q, sf.LogsQL(), k, v, again[k])
			}
		}
		_ = strings.TrimSpace
	})
}
