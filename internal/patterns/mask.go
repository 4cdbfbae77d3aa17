// Package patterns groups log lines into templates: the constant text of a
// line with its variable parts (numbers, ids, addresses, paths, durations,
// quoted and key=value values, timestamps) replaced by a wildcard.
package patterns

import (
	"strings"
	"unicode/utf8"
)

// Wildcard stands for a variable part in a template.
const Wildcard = "<*>"

// MoreLines is the last token of a template whose entries span several lines
// (stack traces): only the first line is mined.
const MoreLines = "<+>"

// MaxLineBytes bounds how much of one entry is mined; the rest is ignored so a
// huge entry costs no more than a long one.
const MaxLineBytes = 4096

// messageKeys hold the message itself in structured lines: the first one's
// value is tokenized like free text instead of being masked whole.
var messageKeys = map[string]bool{"msg": true, "message": true, "event": true}

// keptKeys have few values that name the kind of line; they stay constant.
var keptKeys = map[string]bool{"level": true, "lvl": true, "severity": true, "logger": true}

// keepValue reports whether the value of key (ending at p) is kept as text.
func keepValue(s string, p int, sawMessage *bool) bool {
	key := strings.ToLower(keyBefore(s, p))
	if keptKeys[key] {
		return true
	}
	if !*sawMessage && messageKeys[key] {
		*sawMessage = true
		return true
	}
	return false
}

// Mask returns the masked form of a log entry: variable parts replaced by
// Wildcard, runs of white space collapsed to one space, and only the first
// line kept (followed by MoreLines when there were more). dst is reused.
func Mask(dst []byte, line string) []byte {
	dst = dst[:0]
	if len(line) > MaxLineBytes {
		line = line[:MaxLineBytes]
		// Do not cut a UTF-8 sequence in half.
		for len(line) > 0 && !utf8.RuneStart(line[len(line)-1]) {
			line = line[:len(line)-1]
		}
		if len(line) > 0 && !utf8.ValidString(line[len(line)-1:]) {
			line = line[:len(line)-1]
		}
	}
	if !utf8.ValidString(line) {
		// Templates are text: stored logs are valid UTF-8 and so are filters.
		line = strings.ToValidUTF8(line, "\uFFFD")
	}
	line = strings.TrimRight(line, " \t\r\f\n")
	more := false
	if i := strings.IndexByte(line, '\n'); i >= 0 {
		more = strings.Trim(line[i+1:], " \t\r\f\n") != ""
		line = strings.TrimRight(line[:i], " \t\r\f")
	}
	line = strings.TrimLeft(line, " \t\r\f")
	// Pass 1: spans (quoted strings, key=value values, lists) at the character level.
	var buf [512]byte
	spans := maskSpans(buf[:0], line)
	// Pass 2: words inside each white-space separated token.
	start := -1
	for i := 0; i <= len(spans); i++ {
		if i == len(spans) || isSpace(spans[i]) {
			if start >= 0 {
				if len(dst) > 0 {
					dst = append(dst, ' ')
				}
				n := len(dst)
				dst = maskToken(dst, spans[start:i])
				if string(dst[n:]) == MoreLines {
					// The text itself says "<+>": not the marker of more lines.
					dst = append(dst[:n], Wildcard...)
				}
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	if more {
		if len(dst) > 0 {
			dst = append(dst, ' ')
		}
		dst = append(dst, MoreLines...)
	}
	return dst
}

func isWordByte(c byte) bool {
	return c == '_' || c == '-' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// isSpace is white space within a line (the regular expressions' \s but \n).
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\f' }

// keyBefore returns the key name that ends just before position i (the
// position of '=' or ':'), skipping a closing quote.
func keyBefore(s string, i int) string {
	j := i
	if j > 0 && s[j-1] == '"' {
		j--
	}
	k := j
	for k > 0 && isWordByte(s[k-1]) {
		k--
	}
	return s[k:j]
}

// closingQuote finds the quote that ends a quoted string starting at i.
func closingQuote(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case q:
			return j
		}
	}
	return -1
}

func hasDigitOrSlash(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c >= '0' && c <= '9') || c == '/' {
			return true
		}
	}
	return false
}

// maskSpans masks quoted values, key=value values and bracketed lists.
func maskSpans(dst []byte, s string) []byte {
	sawMessage := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || (c == '\'' && (i == 0 || !isWordByte(s[i-1]))):
			end := closingQuote(s, i)
			if end < 0 {
				dst = append(dst, c)
				continue
			}
			inner := s[i+1 : end]
			// A value: right after '=' or ':' (JSON allows a space after ':').
			p := i - 1
			if p >= 0 && s[p] == ' ' && p > 0 && s[p-1] == ':' {
				p--
			}
			isValue := p >= 0 && (s[p] == '=' || s[p] == ':')
			if isValue && keepValue(s, p, &sawMessage) {
				// The line's message: its words are masked one by one later.
				dst = append(dst, s[i:end+1]...)
				i = end
				continue
			}
			// A JSON key is followed by ':' and is kept.
			isKey := end+1 < len(s) && s[end+1] == ':' && !strings.ContainsRune(inner, ' ')
			if inner != "" && !isKey && (isValue || inner == "-" || hasDigitOrSlash(inner)) {
				dst = append(dst, c)
				dst = append(dst, Wildcard...)
				dst = append(dst, c)
				i = end
				continue
			}
			if !isKey && !isValue {
				// A quoted message of its own (klog): later message keys are values.
				sawMessage = true
			}
			dst = append(dst, s[i:end+1]...)
			i = end
		case c == '=' && i > 0 && isWordByte(s[i-1]) && i+1 < len(s) && !isSpace(s[i+1]) && s[i+1] != '"' && s[i+1] != '\'' && s[i+1] != '=':
			dst = append(dst, c)
			if keepValue(s, i, &sawMessage) {
				continue
			}
			if end := matchingCloser(s, i+1); end > 0 {
				// A bracketed value (list, map, tuple) of any length.
				dst = append(dst, s[i+1])
				dst = append(dst, Wildcard...)
				dst = append(dst, s[end])
				i = end
				continue
			}
			// The value runs to white space or a closing delimiter.
			j := i + 1
			for j < len(s) && !isSpace(s[j]) && s[j] != ',' && s[j] != ';' && s[j] != ')' && s[j] != ']' && s[j] != '}' && s[j] != '&' {
				j++
			}
			if j > i+1 {
				dst = append(dst, Wildcard...)
			}
			i = j - 1
		case c == '[' && i+1 < len(s) && s[i+1] == ' ':
			// Padding before a number in brackets ("[   12.5]", kernel uptime) varies with its width.
			j := i + 1
			for j < len(s) && s[j] == ' ' {
				j++
			}
			k := j
			for k < len(s) && s[k] != ']' && s[k] != ' ' {
				k++
			}
			dst = append(dst, c)
			if k < len(s) && s[k] == ']' && k > j && s[j] >= '0' && s[j] <= '9' {
				i = j - 1
			}
		case c == '[' || (c == '{' && i+1 < len(s) && s[i+1] != '"'):
			// A list or map printed by a program: [a, b, c] or {k=v, k2=v2} has any number of items.
			closer := byte(']')
			if c == '{' {
				closer = '}'
			}
			end := -1
			for j := i + 1; j < len(s) && j-i < 1024; j++ {
				if s[j] == c {
					break
				}
				if s[j] == closer {
					end = j
					break
				}
			}
			if end > 0 && (strings.Contains(s[i+1:end], ", ") || (c == '{' && strings.IndexByte(s[i+1:end], '=') >= 0)) {
				dst = append(dst, c)
				dst = append(dst, Wildcard...)
				dst = append(dst, closer)
				i = end
				continue
			}
			dst = append(dst, c)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// matchingCloser returns the index of the bracket closing the one at i, or
// -1 when s[i] opens nothing, or brackets nest (a flat bracket is one token
// whose extent a regular expression can find again).
func matchingCloser(s string, i int) int {
	if i >= len(s) {
		return -1
	}
	var closer byte
	switch s[i] {
	case '[':
		closer = ']'
	case '{':
		closer = '}'
	case '(':
		closer = ')'
	default:
		return -1
	}
	for j := i + 1; j < len(s) && j-i < 2048; j++ {
		switch s[j] {
		case closer:
			return j
		case s[i]:
			return -1
		}
	}
	return -1
}

func isBoundary(c byte) bool {
	switch c {
	case '[', ']', '(', ')', '{', '}', '<', '>', ',', ';', ':', '=', '|', '"', '\'', '#', '@', '!', '?', '&':
		return true
	}
	return false
}

// maskToken masks the variable words of one token. A token splits into words
// at delimiters; a word with a digit, a path, a long hex string or an e-mail
// address is variable.
func maskToken(dst []byte, tok []byte) []byte {
	start := 0
	for i := 0; i <= len(tok); i++ {
		if i < len(tok) && !isBoundary(tok[i]) {
			continue
		}
		if i > start {
			w := tok[start:i]
			if variableWord(w) {
				dst = append(dst, Wildcard...)
			} else {
				dst = append(dst, w...)
			}
		}
		if i < len(tok) {
			// Keep an existing wildcard whole.
			if tok[i] == '<' && i+2 < len(tok) && tok[i+1] == '*' && tok[i+2] == '>' {
				dst = append(dst, Wildcard...)
				i += 2
			} else {
				dst = append(dst, tok[i])
			}
		}
		start = i + 1
	}
	return dst
}

func variableWord(w []byte) bool {
	if len(w) == 0 {
		return false
	}
	if w[0] == '/' || w[0] == '~' || (len(w) > 1 && w[0] == '.' && w[1] == '/') {
		return len(w) > 1
	}
	hex := len(w) >= 8
	slashes, upper, lower, b64 := 0, 0, 0, 0
	for _, c := range w {
		switch {
		case c >= '0' && c <= '9':
			return true
		case c == '/':
			slashes++
			b64++
		case c == '+':
			b64++
		}
		if !((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
			hex = false
		}
		if c >= 'A' && c <= 'Z' {
			upper++
		} else if c >= 'a' && c <= 'z' {
			lower++
		}
	}
	// Long random-looking words (tokens, base64 keys) mix cases far more than CamelCase names do.
	random := len(w) >= 16 && (b64 > 0 || (upper >= len(w)/4 && lower >= len(w)/4))
	return hex || slashes >= 2 || random
}
