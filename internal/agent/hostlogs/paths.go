package hostlogs

import (
	"path/filepath"
	"strings"
)

// rotationBase returns path without the suffixes log rotation appends, so a
// rotated file can be recognised as a former generation of its live file:
// "syslog.1" → "syslog", "app.log.2" → "app.log", "messages-20261126" →
// "messages", "app-20261126.log" and "app.1.log" → "app.log",
// "Xorg.0.log.old" → "Xorg.0.log".
func rotationBase(path string) string {
	dir, name := filepath.Split(path)
	for {
		stripped := stripRotationSuffix(name)
		if stripped == name || stripped == "" {
			return dir + name
		}
		name = stripped
	}
}

func stripRotationSuffix(name string) string {
	for _, ext := range []string{".gz", ".xz", ".bz2", ".zst", ".old"} {
		if s, ok := strings.CutSuffix(name, ext); ok {
			return s
		}
	}
	// logrotate's "extension .log" keeps .log last: app.1.log, app-20261126.log.
	if s, ok := strings.CutSuffix(name, ".log"); ok {
		if t := stripCounterOrDate(s); t != s {
			return t + ".log"
		}
		return name
	}
	return stripCounterOrDate(name)
}

// stripCounterOrDate removes one ".N" counter or "-YYYYMMDD[HH][-N]" date.
func stripCounterOrDate(name string) string {
	if i := strings.LastIndexByte(name, '.'); i > 0 && allDigits(name[i+1:]) {
		return name[:i]
	}
	if i := strings.LastIndexByte(name, '-'); i > 0 && allDigits(name[i+1:]) {
		// dateext with "-%Y%m%d-%s": drop the trailing seconds first.
		if len(name)-i-1 != 8 && len(name)-i-1 != 10 {
			if j := strings.LastIndexByte(name[:i], '-'); j > 0 && len(name[j+1:i]) == 8 && allDigits(name[j+1:i]) {
				return name[:j]
			}
			return name
		}
		return name[:i]
	}
	return name
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// escapeGlob quotes the characters the fileconsumer's glob syntax treats
// specially, so a literal path matches only itself.
func escapeGlob(path string) string {
	var b strings.Builder
	for _, c := range path {
		if strings.ContainsRune(`\*?[]{}`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// excludeGlobs lets Exclude entries without a directory ("*.gz") apply to
// file names in any directory; the fileconsumer matches them against
// whole paths.
func excludeGlobs(patterns []string) []string {
	out := make([]string, 0, len(patterns))
	for _, p := range patterns {
		if !strings.ContainsRune(p, '/') {
			p = "**/" + p
		}
		out = append(out, p)
	}
	return out
}
