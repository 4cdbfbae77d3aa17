package patterns

import (
	"regexp"
	"slices"
	"testing"
)

func TestMaskExamples(t *testing.T) {
	for in, want := range map[string]string{
		"Connected to 10.0.0.1:5432 in 12.5ms":                       "Connected to <*>:<*> in <*>",
		`user="bob smith" id=42 msg="login ok"`:                      `user="<*>" id=<*> msg="login ok"`,
		`{"level":"info","msg":"done 3 items","user":"bob"}`:         `{"level":"info","msg":"done <*> items","user":"<*>"}`,
		"GET /api/v1/users/550e8400-e29b-41d4-a716-446655440000 200": "GET <*> <*>",
		"Starting containers [web, sidecar, init]":                   "Starting containers [<*>]",
		"kernel: [   12.345678] eth0: link up":                       "kernel: [<*>] <*>: link up",
		"panic: boom\n\tat main.go:12\n":                             "panic: boom <+>",
		"  padded\t\tline  ":                                         "padded line",
		"token deadbeefcafe0000 and DEADBEEFCAFEBABE":                "token <*> and <*>",
		"key SGVsbG8gV29ybGQgZnJvbSB2aWdpbA== end":                   "key <*>== end",
	} {
		if got := string(Mask(nil, in)); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRegexpAndWords(t *testing.T) {
	m := NewMiner(Options{})
	lines := []string{
		"Failed password for bob from 10.0.0.1 port 22 ssh2",
		"Failed password for invalid user eve from 10.0.0.2 port 23 ssh2",
		`msg="a b" user="x y z" n=1`,
		"[   1.5] eth0: up",
		"[1234.5] eth1: up",
	}
	for _, l := range lines {
		m.Add(l)
	}
	for _, l := range lines {
		tmpl := m.Template(m.Add(l))
		re := regexp.MustCompile(Regexp(tmpl.Tokens))
		for _, other := range lines {
			// A template's expression matches exactly the lines of that template.
			same := m.Template(m.Add(other)).ID == tmpl.ID
			if re.MatchString(other) != same {
				t.Errorf("template %q, line %q: match %v, same template %v", tmpl.Text(), other, !same, same)
			}
		}
	}
	w := Words(Split(nil, "Failed password for <*> from <*>:<*> blk_<*> naïve", 0), 10)
	if !slices.Equal(w, []string{"password", "Failed", "from", "for"}) {
		t.Errorf("words %q", w)
	}
}

func TestGlobMatch(t *testing.T) {
	for _, c := range []struct {
		p, s string
		want bool
	}{
		{"<*>:<*>", "<*>:abc", true},
		{"<*>:<*>", "abc", false},
		{"a<*>", "a", false},
		{"<<*>", "<*>", false},
		{"(<*>)", "(java)", true},
		{"x<*>y<*>z", "xAyByz", true},
		{"plain", "plain", false},
	} {
		if got := globMatch(c.p, c.s); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v", c.p, c.s, got)
		}
	}
}

func TestMinerBounded(t *testing.T) {
	m := NewMiner(Options{MaxTemplatesPerLength: 5, MaxCache: 10})
	for i := range 1000 {
		// Distinct constant-looking words at two positions: never four of one shape.
		m.Add(string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + "x y" + string(rune('a'+i%7)))
	}
	if n := m.Len(); n > 5 {
		t.Errorf("%d templates despite a cap of 5 per length", n)
	}
	var total int64
	for _, tp := range m.Templates() {
		total += tp.Count
	}
	if total != 1000 {
		t.Errorf("templates count %d lines, want 1000", total)
	}
}
