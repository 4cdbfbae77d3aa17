package patterns

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzMiner feeds arbitrary entries (NUL-separated) to the masker and miner
// and checks their invariants: masked text is one line of single-spaced
// tokens no longer than the input allows, each entry's template covers its
// masked tokens, and the template's regular expression compiles and matches
// the entry.
func FuzzMiner(f *testing.F) {
	for _, s := range []string{
		"", "a", "\n\n", "   ", "<*>", `"`, `key=`, `x="unterminated`, `[ 1, 2`, `{a=1, b=2}`, "a\tb  c\r\n",
		"Nov  2 10:00:01 host sshd[12]: Accepted publickey for bob from 10.0.0.1 port 22 ssh2\x00Nov  2 10:00:02 host sshd[13]: Accepted publickey for amy from 10.0.0.2 port 23 ssh2",
		`{"level":"info","msg":"done \"quoted\" 12","n":3}`,
		"java.lang.IllegalStateException: boom\n\tat a.B.c(B.java:1)\n\tat d.E.f(E.java:2)",
		"\xff\xfe invalid \xc3 utf8 = \"\xff\"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		if len(input) > 16<<10 {
			input = input[:16<<10] // longer inputs only slow the search down
		}
		m := NewMiner(Options{MergeValues: 2, MaxTemplatesPerLength: 8, MaxCache: 16})
		entries := strings.Split(input, "\x00")
		ids := make([]ID, len(entries))
		for i, e := range entries {
			masked := string(Mask(nil, e))
			if strings.ContainsAny(masked, "\n\t\r") || strings.Contains(masked, "  ") || strings.HasPrefix(masked, " ") || strings.HasSuffix(masked, " ") {
				t.Fatalf("masked %q of %q is not single-spaced on one line", masked, e)
			}
			if len(masked) > 3*min(len(e), MaxLineBytes)+len(MoreLines)+1 {
				t.Fatalf("masked %d bytes from %d", len(masked), len(e))
			}
			ids[i] = m.Add(e)
			toks := Split(nil, masked, 64)
			tmpl := m.Template(ids[i]).Tokens
			if len(tmpl) != len(toks) || !matches(tmpl, toks) {
				t.Fatalf("template %q does not cover %q", tmpl, toks)
			}
		}
		// Later merges may widen templates, never stop them covering their lines.
		compiled := map[string]*regexp.Regexp{}
		for i, e := range entries {
			tmpl := m.Template(ids[i]).Tokens
			toks := Split(nil, string(Mask(nil, e)), 64)
			if len(tmpl) != len(toks) || !matches(tmpl, toks) {
				t.Fatalf("after merges, template %q does not cover %q", tmpl, toks)
			}
			expr := Regexp(tmpl)
			re, ok := compiled[expr]
			if !ok {
				var err error
				if re, err = regexp.Compile(expr); err != nil {
					t.Fatalf("regexp of %q: %v", tmpl, err)
				}
				compiled[expr] = re
			}
			// A Kelvin sign is the one character a variable part may not hold (see filter.go).
			if utf8.ValidString(e) && len(e) < MaxLineBytes && !strings.ContainsRune(e, '\u212A') && !re.MatchString(e) {
				t.Fatalf("regexp %s of %q does not match %q", re, tmpl, e)
			}
		}
		var total int64
		for _, tp := range m.Templates() {
			total += tp.Count
		}
		if total != int64(len(entries)) {
			t.Fatalf("templates count %d lines, want %d", total, len(entries))
		}
	})
}
