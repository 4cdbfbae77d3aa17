package tailbase

import (
	"strings"
	"unicode/utf8"
)

// ValidText converts b to a string in which every invalid UTF-8 sequence is
// replaced by U+FFFD, so that protobuf encoding and the server's indexers
// never see broken text.
func ValidText(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// CutPoint returns how many bytes of b to take so that the result is at most
// n bytes long and, where possible, does not split a UTF-8 sequence. Cutting
// inside a rune would turn both halves into replacement characters.
func CutPoint(b []byte, n int) int {
	if n >= len(b) {
		return len(b)
	}
	if n <= 0 {
		return 0
	}
	for k := n; k > 0 && k > n-utf8.UTFMax; k-- {
		if utf8.RuneStart(b[k]) {
			return k
		}
	}
	return n
}
