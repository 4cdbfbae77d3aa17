package hostlogs

import (
	"bytes"
	"time"
)

// Severity texts set on records. The server lower-cases SeverityText into
// its level field, so these are what users filter on.
const (
	LevelTrace = "trace"
	LevelDebug = "debug"
	LevelInfo  = "info"
	LevelWarn  = "warn"
	LevelError = "error"
	LevelFatal = "fatal"
)

// Bounds on how far into a line the parser looks, so a megabyte-long line
// costs no more than a short one.
const (
	maxKVScan   = 2048 // key=value and JSON members
	maxHeadScan = 200  // brackets and leading words after the timestamp
	// Formats put the level within the first few fields ("ts - name -
	// ERROR - msg"); an upper-case word further on is more likely prose.
	maxHeadFields = 5
)

// parseLine returns the time a plain-text log line carries (zero when it has
// no timestamp the parser knows) and its severity ("" when unsure). Times
// without a zone are taken in the agent's local zone, like the writer's
// syslog daemon; syslog and klog stamps, which have no year, get now's year,
// or the year before when that would put them more than two days ahead.
func parseLine(line []byte, now time.Time) (time.Time, string) {
	ts, rest, level := leadingTime(line, now)
	if ts.IsZero() {
		ts = kvTime(line)
	}
	if !plausible(ts, now) {
		ts = time.Time{}
	}
	if level == "" {
		level = detectLevel(line, rest)
	}
	return ts, level
}

// minPlausible is earlier than any real log line. OTLP timestamps are
// nanoseconds since 1970 in a uint64, so earlier times cannot be sent at all.
var minPlausible = time.Date(1971, 1, 1, 0, 0, 0, 0, time.UTC)

// plausible rejects times a log line cannot really have been written at:
// before 1971, or more than two days ahead of the agent's clock (a digit
// string that happens to look like a date, or a broken clock). Such lines
// get their observed time instead.
func plausible(ts, now time.Time) bool {
	return !ts.IsZero() && !ts.Before(minPlausible) && !ts.After(now.Add(48*time.Hour))
}

// leadingTime parses a timestamp at the start of line, optionally inside
// '[' ']', and returns the rest of the line after it. klog headers also
// carry the severity.
func leadingTime(line []byte, now time.Time) (time.Time, []byte, string) {
	b := line
	bracketed := len(b) > 0 && b[0] == '['
	if bracketed {
		b = b[1:]
	}
	t, n, ok := parseISO(b)
	if !ok {
		t, n, ok = parseSyslog(b, now)
	}
	if ok {
		rest := b[n:]
		if bracketed {
			rest = bytes.TrimPrefix(rest, []byte{']'})
		}
		return t, rest, ""
	}
	if !bracketed {
		if t, n, level, ok := parseKlog(line, now); ok {
			return t, line[n:], level
		}
	}
	return time.Time{}, line, ""
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// num parses the decimal digits b[i:i+n].
func num(b []byte, i, n int) (int, bool) {
	if i < 0 || i+n > len(b) {
		return 0, false
	}
	v := 0
	for _, c := range b[i : i+n] {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// clock parses "hh:mm:ss" at b[i:].
func clock(b []byte, i int) (h, m, s int, ok bool) {
	if i+8 > len(b) || b[i+2] != ':' || b[i+5] != ':' {
		return 0, 0, 0, false
	}
	h, ok1 := num(b, i, 2)
	m, ok2 := num(b, i+3, 2)
	s, ok3 := num(b, i+6, 2)
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || s > 60 {
		return 0, 0, 0, false
	}
	return h, m, s, true
}

// fraction parses an optional ".123" or ",123" at b[i:] into nanoseconds
// and returns the index after it. Digits beyond nanoseconds are ignored.
func fraction(b []byte, i int) (int, int) {
	if i+1 >= len(b) || (b[i] != '.' && b[i] != ',') || !isDigit(b[i+1]) {
		return 0, i
	}
	i++
	ns, digits := 0, 0
	for ; i < len(b) && isDigit(b[i]); i++ {
		if digits < 9 {
			ns = ns*10 + int(b[i]-'0')
			digits++
		}
	}
	for ; digits < 9; digits++ {
		ns *= 10
	}
	return ns, i
}

func daysIn(year int, month time.Month) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// parseISO parses "2006-01-02T15:04:05" with '-' or '/' between the date
// fields, 'T' or ' ' before the clock, an optional fraction ('.' or ',')
// and an optional zone: Z, ±hh:mm, ±hhmm or ±hh. It covers RFC 3339,
// "2006-01-02 15:04:05", Python's logging and nginx's error log.
func parseISO(b []byte) (time.Time, int, bool) {
	if len(b) < 19 {
		return time.Time{}, 0, false
	}
	sep := b[4]
	if (sep != '-' && sep != '/') || b[7] != sep || (b[10] != 'T' && b[10] != ' ') {
		return time.Time{}, 0, false
	}
	year, ok1 := num(b, 0, 4)
	month, ok2 := num(b, 5, 2)
	day, ok3 := num(b, 8, 2)
	h, m, s, ok4 := clock(b, 11)
	if !ok1 || !ok2 || !ok3 || !ok4 || month < 1 || month > 12 || day < 1 || day > daysIn(year, time.Month(month)) {
		return time.Time{}, 0, false
	}
	ns, i := fraction(b, 19)
	loc := time.Local
	if i < len(b) {
		switch c := b[i]; {
		case c == 'Z' || c == 'z':
			loc = time.UTC
			i++
		case c == '+' || c == '-':
			if zh, ok := num(b, i+1, 2); ok && zh <= 23 {
				j, zm := i+3, 0
				if j < len(b) && b[j] == ':' {
					if v, ok := num(b, j+1, 2); ok {
						zm, j = v, j+3
					}
				} else if v, ok := num(b, j, 2); ok {
					zm, j = v, j+2
				}
				if zm <= 59 {
					off := zh*3600 + zm*60
					if c == '-' {
						off = -off
					}
					loc, i = time.FixedZone("", off), j
				}
			}
		}
	}
	// "…:05" followed by more digits is not a time we understand.
	if i < len(b) && isDigit(b[i]) {
		return time.Time{}, 0, false
	}
	return time.Date(year, time.Month(month), day, h, m, s, ns, loc), i, true
}

var monthAbbrev = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// withYear places a year-less local time in now's year, or the year before
// when it would otherwise lie more than two days in the future (a December
// line read in January). It fails for Feb 29 in a year without one.
func withYear(now time.Time, month time.Month, day, h, m, s, ns int) (time.Time, bool) {
	year := now.In(time.Local).Year()
	if day <= daysIn(year, month) {
		if t := time.Date(year, month, day, h, m, s, ns, time.Local); !t.After(now.Add(48 * time.Hour)) {
			return t, true
		}
	}
	year--
	if day > daysIn(year, month) {
		return time.Time{}, false
	}
	return time.Date(year, month, day, h, m, s, ns, time.Local), true
}

// parseSyslog parses the BSD syslog stamp "Jan _2 15:04:05" (the day may
// also be unpadded), with an optional fraction.
func parseSyslog(b []byte, now time.Time) (time.Time, int, bool) {
	if len(b) < 14 || b[3] != ' ' {
		return time.Time{}, 0, false
	}
	month := 0
	for i, name := range monthAbbrev {
		if string(b[:3]) == name {
			month = i + 1
			break
		}
	}
	if month == 0 {
		return time.Time{}, 0, false
	}
	i := 4
	if b[i] == ' ' {
		i++
	}
	dayDigits := 1
	if i+1 < len(b) && isDigit(b[i+1]) {
		dayDigits = 2
	}
	day, ok := num(b, i, dayDigits)
	i += dayDigits
	if !ok || day < 1 || day > 31 || i >= len(b) || b[i] != ' ' {
		return time.Time{}, 0, false
	}
	h, m, s, ok := clock(b, i+1)
	if !ok {
		return time.Time{}, 0, false
	}
	ns, end := fraction(b, i+9)
	if end < len(b) && isDigit(b[end]) {
		return time.Time{}, 0, false
	}
	t, ok := withYear(now, time.Month(month), day, h, m, s, ns)
	return t, end, ok
}

// parseKlog parses the header of Kubernetes components' logs,
// "E0102 15:04:05.123456", whose first letter is the severity.
func parseKlog(b []byte, now time.Time) (time.Time, int, string, bool) {
	if len(b) < 15 || b[5] != ' ' || b[14] != '.' {
		return time.Time{}, 0, "", false
	}
	var level string
	switch b[0] {
	case 'I':
		level = LevelInfo
	case 'W':
		level = LevelWarn
	case 'E':
		level = LevelError
	case 'F':
		level = LevelFatal
	default:
		return time.Time{}, 0, "", false
	}
	month, ok1 := num(b, 1, 2)
	day, ok2 := num(b, 3, 2)
	h, m, s, ok3 := clock(b, 6)
	if !ok1 || !ok2 || !ok3 || month < 1 || month > 12 || day < 1 || day > 31 {
		return time.Time{}, 0, "", false
	}
	ns, end := fraction(b, 14)
	if end < len(b) && isDigit(b[end]) {
		return time.Time{}, 0, "", false
	}
	t, ok := withYear(now, time.Month(month), day, h, m, s, ns)
	return t, end, level, ok
}

func isKeyByte(c byte) bool {
	return isLetter(c) || isDigit(c) || c == '_' || c == '.' || c == '@' || c == '-'
}

// kvValue finds the first member whose key satisfies want in a logfmt
// (key=value), JSON ("key":"value") or "key: value" line and returns its
// value without quotes.
func kvValue(line []byte, want func(key []byte) bool) ([]byte, bool) {
	b := line[:min(len(line), maxKVScan)]
	for i := 0; i < len(b); i++ {
		if b[i] != '=' && b[i] != ':' {
			continue
		}
		end := i
		quoted := end > 0 && b[end-1] == '"'
		if quoted {
			end--
		}
		start := end
		for start > 0 && isKeyByte(b[start-1]) {
			start--
		}
		if start == end {
			continue
		}
		if quoted {
			if start == 0 || b[start-1] != '"' {
				continue
			}
		} else if start > 0 && isKeyByte(b[start-1]) {
			continue
		}
		if !want(b[start:end]) {
			continue
		}
		v := b[i+1:]
		v = bytes.TrimLeft(v, " ")
		if len(v) > 0 && v[0] == '"' {
			if j := bytes.IndexByte(v[1:], '"'); j >= 0 {
				return v[1 : j+1], true
			}
			return nil, false
		}
		j := 0
		for j < len(v) && v[j] != ' ' && v[j] != ',' && v[j] != '}' && v[j] != ';' && v[j] != '\t' {
			j++
		}
		return v[:j], true
	}
	return nil, false
}

func keyIs(names ...string) func([]byte) bool {
	return func(key []byte) bool {
		for _, n := range names {
			if bytes.EqualFold(key, []byte(n)) {
				return true
			}
		}
		return false
	}
}

var (
	timeKey  = keyIs("time", "ts", "timestamp", "@timestamp", "datetime")
	levelKey = keyIs("level", "lvl", "severity", "loglevel", "log_level", "log.level", "levelname", "severity_text")
)

// kvTime reads a structured line's time member (time=…, "ts":"…").
func kvTime(line []byte) time.Time {
	v, ok := kvValue(line, timeKey)
	if !ok {
		return time.Time{}
	}
	t, n, ok := parseISO(v)
	if !ok || n != len(v) {
		return time.Time{}
	}
	return t
}

// levelWord maps a severity word, in any case, to a level.
func levelWord(w []byte) string {
	if len(w) < 3 || len(w) > 13 {
		return ""
	}
	var buf [13]byte
	for i, c := range w {
		buf[i] = c | 0x20
	}
	switch string(buf[:len(w)]) {
	case "trace", "trc":
		return LevelTrace
	case "debug", "dbg":
		return LevelDebug
	case "info", "inf", "information", "informational", "notice":
		return LevelInfo
	case "warn", "warning", "wrn":
		return LevelWarn
	case "error", "err", "erro", "eror", "severe":
		return LevelError
	case "fatal", "ftl", "critical", "crit", "alert", "emerg", "emergency", "panic":
		return LevelFatal
	}
	return ""
}

func isUpper(w []byte) bool {
	for _, c := range w {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// detectLevel looks, in this order, for a level member (level=error,
// "severity":"WARN"), a bracketed word near the start ([error], [ERROR],
// Apache's [core:error]), an upper-case level word among the first words
// (ERROR, WARN:, ERRO[0000]) and a level word followed by a colon right at
// the start of the message ("sshd[1]: error: …"). Anything else is unsure.
func detectLevel(line, rest []byte) string {
	if v, ok := kvValue(line, levelKey); ok {
		if l := levelWord(v); l != "" {
			return l
		}
	}
	head := rest[:min(len(rest), maxHeadScan)]

	for b, n := head, 0; n < 4; n++ {
		i := bytes.IndexByte(b, '[')
		if i < 0 {
			break
		}
		j := bytes.IndexByte(b[i+1:], ']')
		if j < 0 {
			break
		}
		inner := b[i+1 : i+1+j]
		if k := bytes.LastIndexByte(inner, ':'); k >= 0 {
			inner = inner[k+1:]
		}
		if l := levelWord(bytes.TrimSpace(inner)); l != "" {
			return l
		}
		b = b[i+1+j+1:]
	}

	idx := 0
	for field := range bytes.FieldsSeq(head) {
		if idx == maxHeadFields {
			break
		}
		w := bytes.TrimLeft(field, "[(<{\"'*|")
		n := 0
		for n < len(w) && isLetter(w[n]) {
			n++
		}
		word := w[:n]
		if isUpper(word) {
			if l := levelWord(word); l != "" {
				return l
			}
		}
		// Syslog puts host and tag before the message, hence three.
		if idx < 3 && n < len(w) && w[n] == ':' {
			if l := levelWord(word); l != "" {
				return l
			}
		}
		idx++
	}
	return ""
}
