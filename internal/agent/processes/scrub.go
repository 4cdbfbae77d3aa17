package processes

import "strings"

// sensitiveWords mark command-line arguments whose values must not leave the
// node: command lines often carry passwords and tokens.
var sensitiveWords = []string{"password", "passwd", "pwd", "secret", "token", "apikey", "api_key", "api-key",
	"access_key", "access-key", "private_key", "private-key", "credential", "auth_token", "auth-token"}

const redacted = "********"

func sensitive(name string) bool {
	name = strings.ToLower(strings.TrimLeft(name, "-"))
	for _, w := range sensitiveWords {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// Scrub replaces the values of sensitive-looking arguments: "--password=x",
// "DB_PASSWORD=x" and "--token x" keep their names and lose their values.
func Scrub(args []string) []string {
	out := make([]string, len(args))
	hideNext := false
	for i, a := range args {
		switch {
		case hideNext:
			out[i] = redacted
			hideNext = false
		case strings.Contains(a, "="):
			k, _, _ := strings.Cut(a, "=")
			if sensitive(k) {
				out[i] = k + "=" + redacted
			} else {
				out[i] = a
			}
		case strings.HasPrefix(a, "-") && sensitive(a):
			out[i] = a
			hideNext = true
		default:
			out[i] = a
		}
	}
	return out
}
