package index

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// streamColumns are the fields the index keeps counts by; a query that only
// filters on these (exactly) is answered from the index.
var streamColumns = []string{"namespace", "pod", "container", "node", "file"}

func isStreamColumn(name string) bool {
	for _, c := range streamColumns {
		if c == name {
			return true
		}
	}
	return false
}

// StreamFilter is a conjunction of exact matches on stream columns.
type StreamFilter map[string]string

// ParseStreamQuery recognises the LogsQL queries the index can answer: empty
// or "*", stream selectors {namespace="a", container="b"}, and exact field
// filters namespace:=a or namespace:="a", joined by spaces or AND. ok is
// false for anything else (the caller then scans the matching rows instead);
// err reports a recognisable but contradictory or malformed selector.
func ParseStreamQuery(q string) (f StreamFilter, ok bool, err error) {
	f = StreamFilter{}
	s := strings.TrimSpace(q)
	if len(s) > 4096 {
		return nil, false, nil
	}
	for s != "" {
		var name, value string
		switch {
		case s[0] == '*':
			s = s[1:]
		case s[0] == '{':
			end := strings.IndexByte(s, '}')
			if end < 0 {
				return nil, false, nil
			}
			body := strings.TrimSpace(s[1:end])
			s = s[end+1:]
			for body != "" {
				eq := strings.IndexByte(body, '=')
				if eq <= 0 {
					return nil, false, nil
				}
				name = strings.TrimSpace(body[:eq])
				rest := strings.TrimSpace(body[eq+1:])
				v, n, vok := readValue(rest)
				if !vok || strings.HasSuffix(name, "!") || strings.HasSuffix(name, "=~") {
					return nil, false, nil
				}
				if err := f.add(name, v); err != nil {
					return nil, false, err
				}
				if !isStreamColumn(name) {
					return nil, false, nil
				}
				body = strings.TrimSpace(rest[n:])
				if body != "" {
					if body[0] != ',' {
						return nil, false, nil
					}
					body = strings.TrimSpace(body[1:])
				}
			}
		default:
			if rest, ok := cutWord(s, "AND"); ok {
				s = rest
				break
			}
			i := strings.Index(s, ":=")
			if i <= 0 {
				return nil, false, nil
			}
			name = s[:i]
			if strings.ContainsAny(name, " \t\"(){}") || !isStreamColumn(name) {
				return nil, false, nil
			}
			v, n, vok := readValue(s[i+2:])
			if !vok {
				return nil, false, nil
			}
			value = v
			if err := f.add(name, value); err != nil {
				return nil, false, err
			}
			s = s[i+2+n:]
			if s != "" && s[0] != ' ' && s[0] != '\t' {
				return nil, false, nil
			}
		}
		s = strings.TrimSpace(s)
	}
	return f, true, nil
}

func cutWord(s, w string) (string, bool) {
	if len(s) > len(w) && strings.EqualFold(s[:len(w)], w) && (s[len(w)] == ' ' || s[len(w)] == '\t') {
		return s[len(w):], true
	}
	return s, false
}

// readValue reads a quoted or bare value at the start of s and returns it
// with the number of bytes consumed.
func readValue(s string) (string, int, bool) {
	if s == "" {
		return "", 0, false
	}
	if s[0] == '"' || s[0] == '\'' || s[0] == '`' {
		q := s[0]
		for j := 1; j < len(s); j++ {
			if s[j] == '\\' && q != '`' {
				j++
				continue
			}
			if s[j] == q {
				raw := s[:j+1]
				if q == '\'' {
					raw = "\"" + strings.ReplaceAll(s[1:j], "\"", "\\\"") + "\""
				}
				v, err := strconv.Unquote(raw)
				if err != nil || !utf8.ValidString(v) {
					return "", 0, false
				}
				return v, j + 1, true
			}
		}
		return "", 0, false
	}
	j := 0
	for j < len(s) && !strings.ContainsRune(" \t,}(){}\"'|", rune(s[j])) {
		j++
	}
	if j == 0 || !utf8.ValidString(s[:j]) {
		return "", 0, false
	}
	return s[:j], j, true
}

var errContradiction = errors.New("contradictory stream filters")

func (f StreamFilter) add(name, value string) error {
	if old, ok := f[name]; ok && old != value {
		return fmt.Errorf("%w: %s is both %q and %q", errContradiction, name, old, value)
	}
	f[name] = value
	return nil
}

// LogsQL renders the filter back as a LogsQL query.
func (f StreamFilter) LogsQL() string {
	var parts []string
	for _, c := range streamColumns {
		if v, ok := f[c]; ok {
			parts = append(parts, c+":="+strconv.Quote(v))
		}
	}
	if len(parts) == 0 {
		return "*"
	}
	return strings.Join(parts, " ")
}
