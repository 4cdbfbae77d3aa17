package patterns

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Regexp returns a regular expression that matches the log messages a
// template stands for: its constant text in order, a wildcard matching any
// text on the line, white space matching any white space.
func Regexp(tokens []string) string {
	var b strings.Builder
	b.WriteString(`^\s*`)
	more := false
	for i, t := range tokens {
		if t == MoreLines && i == len(tokens)-1 {
			more = true
			break
		}
		if i > 0 {
			b.WriteString(`\s+`)
		}
		parts := strings.Split(t, Wildcard)
		for j, p := range parts {
			if j > 0 {
				b.WriteString(wildcardRegexp(parts[j-1], p))
			}
			// The masker drops padding after '[' ("[   12.5]").
			b.WriteString(strings.ReplaceAll(regexp.QuoteMeta(p), `\[`, `\[ *`))
		}
	}
	if more {
		b.WriteString(`\s*\n(?s:.*)$`)
	} else {
		b.WriteString(`\s*$`)
	}
	return b.String()
}

// Every negated class below also excludes U+212A (KELVIN SIGN). Without
// it the log engine, which prints each regular expression once per query,
// spends ~20 ms per class walking all of Unicode for case folding; with it
// that walk stops at 'K'. A Kelvin sign inside a variable part is the price.
const (
	nonSpace = `[^\s\x{212A}]`
	// word matches one white-space separated word as the masker splits them; a
	// quoted or bracketed value inside it may hold spaces (the masker keeps
	// "<*>" or [<*>] as one token, and a merged wildcard may stand for one).
	word = `(?:"(?:[^"\\\x{212A}]|\\.)*"|'[^'\x{212A}]*'|\[[^\]\x{212A}]*\]|\{[^}\x{212A}]*\}|\([^)\x{212A}]*\)|` + nonSpace + `)+`
)

// wildcardRegexp is what a wildcard between the constant texts before and
// after it may match: a quoted or bracketed value may hold spaces, anything
// else is part of one white-space separated word.
func wildcardRegexp(before, after string) string {
	var open, close byte
	if before != "" {
		open = before[len(before)-1]
	}
	if after != "" {
		close = after[0]
	}
	switch {
	case open == '"' && close == '"':
		return `(?:(?:[^"\\\x{212A}]|\\.)*\\?|` + nonSpace + `*)`
	case open == '\'' && close == '\'':
		return `(?:[^'\x{212A}]*|` + nonSpace + `*)`
	case open == '[' && close == ']':
		return `(?:[^\]\x{212A}]*|` + nonSpace + `*)`
	case open == '{' && close == '}':
		return `(?:[^}\x{212A}]*|` + nonSpace + `*)`
	case open == '(' && close == ')':
		return `(?:[^)\x{212A}]*|` + nonSpace + `*)`
	}
	if (open != 0 && strings.IndexByte(`"'[{(`, open) >= 0) || (close != 0 && strings.IndexByte(`"']})`, close) >= 0) {
		// Next to an unpaired quote or bracket the value may hold spaces.
		return `[^\n\x{212A}]*?`
	}
	return word
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func isWordRune(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80
}

// Words returns up to max of the template's longest constant words that are
// whole words in every matching message (not glued to a variable part), for
// the log engine's word index to skip what cannot match.
func Words(tokens []string, max int) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range tokens {
		if t == MoreLines {
			continue
		}
		parts := strings.Split(t, Wildcard)
		for pi, p := range parts {
			i := 0
			for i < len(p) {
				if !isWordRune(p[i]) {
					i++
					continue
				}
				j := i
				for j < len(p) && isWordRune(p[j]) {
					j++
				}
				// A word touching a wildcard may continue into the variable text.
				glued := (i == 0 && pi > 0) || (j == len(p) && pi < len(parts)-1)
				// Non-ASCII words are left to the regular expression: the log
				// engine's idea of a word boundary there may differ from ours.
				if w := p[i:j]; !glued && len(w) >= 3 && !seen[w] && isASCII(w) {
					seen[w] = true
					out = append(out, w)
				}
				i = j
			}
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return len(out[a]) > len(out[b]) })
	if len(out) > max {
		out = out[:max]
	}
	return out
}

// Filter returns a LogsQL filter selecting the messages of a template: word
// filters for its longest constant words (cheap, indexed) and an anchored
// regular expression on _msg for the exact shape.
func Filter(tokens []string) string {
	var b strings.Builder
	for _, w := range Words(tokens, 4) {
		b.WriteString(strconv.Quote(w))
		b.WriteByte(' ')
	}
	b.WriteString("_msg:~")
	b.WriteString(strconv.Quote(Regexp(tokens)))
	return b.String()
}
