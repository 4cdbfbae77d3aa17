package ingest

import (
	"regexp"
	"strings"
)

// Mask replaces a redacted value.
const Mask = "[REDACTED]"

// secretKeyRE matches key=value, key: value and "key":"value" where the key
// names a credential; the value (group 2) is masked.
var secretKeyRE = regexp.MustCompile(`(?i)((?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret|credentials?)["']?\s*[:=]\s*["']?)([^\s"',;&}]+)`)

// bearerRE matches HTTP credentials in headers and URLs.
var bearerRE = regexp.MustCompile(`(?i)((?:bearer|basic)\s+)([A-Za-z0-9\-._~+/]{8,}=*)`)

// jwtRE matches JSON Web Tokens wherever they appear.
var jwtRE = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}`)

// awsKeyRE matches AWS access key ids.
var awsKeyRE = regexp.MustCompile(`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`)

// urlPasswordRE matches the password of user:password@host in URLs.
var urlPasswordRE = regexp.MustCompile(`(://[^:/\s@]+:)([^@/\s]+)(@)`)

// Redactor masks credentials and card numbers in log text. The built-in
// rules run first; Extra are operator-supplied patterns whose whole match
// is masked.
type Redactor struct {
	Builtin bool
	Extra   []*regexp.Regexp
}

// secretKeys are the key names (lower case) whose values are masked; a key
// ends with one of them (db_password, X-Api-Key).
var secretKeys = []string{"password", "passwd", "pwd", "secret", "token", "apikey", "api_key", "api-key",
	"access_key", "access-key", "accesskey", "private_key", "private-key", "privatekey", "credential", "credentials"}

// mayHoldSecret is a cheap pre-check so the regular expressions run only on
// lines that could match one of them: one pass over the line looking at the
// word before each ':' or '=' and at a few fixed markers (JWT, AWS key id,
// Bearer/Basic, user:password@ in URLs).
func mayHoldSecret(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ':', '=':
			if keyBeforeIsSecret(s[:i]) || c == ':' && strings.HasPrefix(s[i:], "://") && strings.IndexByte(s[i:], '@') >= 0 {
				return true
			}
		case 'e':
			if strings.HasPrefix(s[i:], "eyJ") || i > 0 && (s[i-1] == 'B' || s[i-1] == 'b') && strings.HasPrefix(s[i:], "earer ") {
				return true
			}
		case 'E':
			if i > 0 && s[i-1] == 'B' && strings.HasPrefix(s[i:], "EARER ") {
				return true
			}
		case 'A':
			if strings.HasPrefix(s[i:], "AKIA") || strings.HasPrefix(s[i:], "ASIA") || i > 0 && s[i-1] == 'B' && strings.HasPrefix(s[i:], "ASIC ") {
				return true
			}
		case 'a':
			if i > 0 && (s[i-1] == 'B' || s[i-1] == 'b') && strings.HasPrefix(s[i:], "asic ") {
				return true
			}
		}
	}
	return false
}

// keyBeforeIsSecret reports whether the word ending s (ignoring quotes and
// spaces just before the delimiter) names a credential.
func keyBeforeIsSecret(s string) bool {
	end := len(s)
	for end > 0 && (s[end-1] == '"' || s[end-1] == '\'' || s[end-1] == ' ') {
		end--
	}
	start := end
	for start > 0 && (isAlnum(s[start-1]) || s[start-1] == '-' || s[start-1] == '.') {
		start--
	}
	w := s[start:end]
	if len(w) < 3 {
		return false
	}
	for _, k := range secretKeys {
		if len(w) >= len(k) && strings.EqualFold(w[len(w)-len(k):], k) {
			return true
		}
	}
	return false
}

// Redact returns s with secrets masked, and whether anything changed.
func (r *Redactor) Redact(s string) (string, bool) {
	orig := s
	if r.Builtin {
		if mayHoldSecret(s) {
			s = secretKeyRE.ReplaceAllString(s, "${1}"+Mask)
			s = bearerRE.ReplaceAllString(s, "${1}"+Mask)
			s = urlPasswordRE.ReplaceAllString(s, "${1}"+Mask+"${3}")
			s = jwtRE.ReplaceAllString(s, Mask)
			s = awsKeyRE.ReplaceAllString(s, Mask)
		}
		s = maskCards(s)
	}
	for _, re := range r.Extra {
		s = re.ReplaceAllString(s, Mask)
	}
	return s, s != orig
}

// maskCards masks runs of 13–19 digits (optionally grouped by single spaces
// or dashes) that pass the Luhn check, keeping the last four digits.
func maskCards(s string) string {
	var b []byte // allocated on the first card found
	last := 0
	for i := 0; i < len(s); {
		if !isDigit(s[i]) || (i > 0 && (isDigit(s[i-1]) || isAlnum(s[i-1]))) {
			i++
			continue
		}
		// Collect digits with single separators, noting the group lengths.
		j, n := i, 0
		var digits [19]byte
		var groups [8]int
		ng := 1
		end := i
		for j < len(s) && n <= 19 {
			c := s[j]
			if isDigit(c) {
				if n < 19 {
					digits[n] = c
				}
				n++
				groups[ng-1]++
				j++
				end = j
				continue
			}
			if (c == ' ' || c == '-') && j+1 < len(s) && isDigit(s[j+1]) && j > i && isDigit(s[j-1]) && ng < len(groups) {
				ng++
				j++
				continue
			}
			break
		}
		if n >= 13 && n <= 19 && (end >= len(s) || !isAlnum(s[end])) && cardGrouping(groups[:ng]) && luhn(digits[:n]) {
			if b == nil {
				b = make([]byte, 0, len(s))
			}
			b = append(b, s[last:i]...)
			for k := i; k < end; k++ {
				if isDigit(s[k]) && countDigits(s[k:end]) > 4 {
					b = append(b, '*')
				} else {
					b = append(b, s[k])
				}
			}
			last = end
		}
		if end > i {
			i = end
		} else {
			i++
		}
	}
	if b == nil {
		return s
	}
	return string(append(b, s[last:]...))
}

// cardGrouping tells whether digit groups are written the way card numbers
// are: one run, fours (the last group may be shorter), or the 4-6-5 and 4-6-4
// of American Express and Diners. Timestamps and ids separated by spaces
// ("261126 154012 9") are not cards even when their digits pass Luhn.
func cardGrouping(g []int) bool {
	if len(g) == 1 {
		return true
	}
	if len(g) == 3 && g[0] == 4 && g[1] == 6 && (g[2] == 5 || g[2] == 4) {
		return true
	}
	for i, n := range g {
		if i < len(g)-1 && n != 4 || i == len(g)-1 && (n < 1 || n > 4) {
			return false
		}
	}
	return true
}

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			n++
		}
	}
	return n
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
}

func luhn(d []byte) bool {
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}

// secretName reports whether a parsed field's name says its value is a
// credential (password, db.password, X-Api-Key, authorization).
func secretName(name string) bool {
	if i := strings.LastIndexAny(name, "."); i >= 0 {
		name = name[i+1:]
	}
	return keyBeforeIsSecret(name) || strings.EqualFold(name, "authorization")
}
