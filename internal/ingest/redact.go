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
// lines that could match one of them: it looks only at the word before each
// ':' or '=' and at a few fixed markers, using the fast substring search.
func mayHoldSecret(s string) bool {
	for _, m := range []string{"eyJ", "AKIA", "ASIA", "earer ", "EARER ", "asic ", "ASIC "} {
		if strings.Contains(s, m) {
			return true
		}
	}
	if i := strings.Index(s, "://"); i >= 0 && strings.IndexByte(s[i:], '@') >= 0 {
		return true
	}
	for rest, off := s, 0; ; {
		i := strings.IndexAny(rest, ":=")
		if i < 0 {
			return false
		}
		if keyBeforeIsSecret(s[:off+i]) {
			return true
		}
		rest = rest[i+1:]
		off += i + 1
	}
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
		// Collect digits with single separators.
		j, n := i, 0
		var digits [19]byte
		end := i
		for j < len(s) && n <= 19 {
			c := s[j]
			if isDigit(c) {
				if n < 19 {
					digits[n] = c
				}
				n++
				j++
				end = j
				continue
			}
			if (c == ' ' || c == '-') && j+1 < len(s) && isDigit(s[j+1]) && j > i && isDigit(s[j-1]) {
				j++
				continue
			}
			break
		}
		if n >= 13 && n <= 19 && (end >= len(s) || !isAlnum(s[end])) && luhn(digits[:n]) {
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
