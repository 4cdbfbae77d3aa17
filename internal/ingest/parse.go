package ingest

import (
	"slices"
	"strings"

	"github.com/valyala/fastjson"

	"vigil/internal/store/logs"
)

// Bounds on what a JSON log line may add to its record.
const (
	maxJSONFields     = 64
	maxJSONDepth      = 3
	maxJSONValueBytes = 4 << 10
	maxJSONLineBytes  = 64 << 10
)

// reservedFields are set by vigil; a JSON key with one of these names is
// stored as json.<name> so it cannot overwrite the record's identity.
var reservedFields = map[string]bool{
	"_msg": true, "_time": true, "_stream": true, "_stream_id": true,
	"namespace": true, "pod": true, "pod_uid": true, "container": true, "node": true,
	"stream": true, "file": true, "workload": true, "workload_kind": true, "zone": true,
	"source": true, "restart": true, "host": true,
}

// jsonParsers are reused: a parser keeps its buffers between lines.
var jsonParsers fastjson.ParserPool

// ParseJSONLine returns the fields of a log line that is one JSON object:
// nested objects are flattened with dots (a.b.c) to a bounded depth, arrays
// and deeper objects are kept as JSON text. ok is false for anything else.
func ParseJSONLine(msg string) (fields []logs.Field, ok bool) {
	s := strings.TrimSpace(msg)
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' || len(s) > maxJSONLineBytes {
		return nil, false
	}
	p := jsonParsers.Get()
	defer jsonParsers.Put(p)
	v, err := p.Parse(s)
	if err != nil {
		return nil, false
	}
	obj, err := v.Object()
	if err != nil {
		return nil, false
	}
	fields = flatten(fields, "", obj, 1)
	slices.SortStableFunc(fields, func(a, b logs.Field) int { return strings.Compare(a.Name, b.Name) })
	// A repeated key keeps its first value.
	fields = slices.CompactFunc(fields, func(a, b logs.Field) bool { return a.Name == b.Name })
	if len(fields) > maxJSONFields {
		fields = fields[:maxJSONFields]
	}
	return fields, true
}

func flatten(dst []logs.Field, prefix string, obj *fastjson.Object, depth int) []logs.Field {
	obj.Visit(func(key []byte, v *fastjson.Value) {
		if len(dst) >= maxJSONFields*2 || len(key) == 0 {
			return
		}
		name := clean(prefix + string(key))
		if prefix == "" && reservedFields[name] {
			name = "json." + name
		}
		switch v.Type() {
		case fastjson.TypeObject:
			if depth < maxJSONDepth {
				o, _ := v.Object()
				dst = flatten(dst, name+".", o, depth+1)
				return
			}
			dst = append(dst, logs.Field{Name: name, Value: bound(clean(string(v.MarshalTo(nil))))})
		case fastjson.TypeArray:
			dst = append(dst, logs.Field{Name: name, Value: bound(clean(string(v.MarshalTo(nil))))})
		case fastjson.TypeString:
			dst = append(dst, logs.Field{Name: name, Value: bound(clean(string(v.GetStringBytes())))})
		case fastjson.TypeNumber:
			dst = append(dst, logs.Field{Name: name, Value: clean(string(v.MarshalTo(nil)))})
		case fastjson.TypeTrue:
			dst = append(dst, logs.Field{Name: name, Value: "true"})
		case fastjson.TypeFalse:
			dst = append(dst, logs.Field{Name: name, Value: "false"})
		}
	})
	return dst
}

func bound(s string) string {
	if len(s) <= maxJSONValueBytes {
		return s
	}
	return strings.ToValidUTF8(s[:maxJSONValueBytes], "")
}

// levelKeys are the JSON/logfmt keys that name a line's level.
var levelKeys = []string{"level", "lvl", "severity", "log.level", "loglevel", "levelname", "json.level"}

// LevelFromFields returns the normalised level from parsed fields, if any.
func LevelFromFields(fields []logs.Field) string {
	for _, k := range levelKeys {
		for _, f := range fields {
			if f.Name == k {
				if l := NormalizeLevel(f.Value); l != "" {
					return l
				}
			}
		}
	}
	return ""
}

// NormalizeLevel maps level spellings to trace, debug, info, warn, error, fatal.
func NormalizeLevel(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "trace", "trc", "finest", "finer":
		return "trace"
	case "debug", "dbg", "d", "fine", "verbose":
		return "debug"
	case "info", "inf", "i", "information", "informational", "notice", "config":
		return "info"
	case "warn", "warning", "wrn", "w":
		return "warn"
	case "error", "err", "e", "severe", "eror":
		return "error"
	case "fatal", "crit", "critical", "panic", "emerg", "emergency", "alert", "f", "dpanic":
		return "fatal"
	}
	return ""
}

// levelWords are upper-case tokens that mark a text line's level.
var levelWords = map[string]string{
	"TRACE": "trace", "DEBUG": "debug", "INFO": "info", "NOTICE": "info",
	"WARN": "warn", "WARNING": "warn", "ERROR": "error", "ERR": "error", "SEVERE": "error",
	"FATAL": "fatal", "PANIC": "fatal", "CRITICAL": "fatal", "CRIT": "fatal",
}

// DetectLevel finds the level of a text line: a level=/lvl= pair, a klog
// header (E1126 ...), an upper-case level word or [error]-style tag near the
// start, or the first line of a stack trace. It returns "" when unsure.
func DetectLevel(msg string) string {
	head := msg
	if len(head) > 256 {
		head = head[:256]
	}
	if i := indexLevelKV(head); i >= 0 {
		v := head[i:]
		v = strings.TrimLeft(v, `"'`)
		end := strings.IndexAny(v, " \t\"',;}")
		if end >= 0 {
			v = v[:end]
		}
		if l := NormalizeLevel(v); l != "" {
			return l
		}
	}
	// klog: Lmmdd hh:mm:ss.uuuuuu
	if len(head) > 6 && strings.IndexByte("IWEF", head[0]) >= 0 && allDigits(head[1:5]) && head[5] == ' ' {
		return NormalizeLevel(head[:1])
	}
	for i := 0; i < len(head); {
		// Tokens of letters, bounded by non-letters.
		for i < len(head) && !isLetter(head[i]) {
			i++
		}
		j := i
		for j < len(head) && isLetter(head[j]) {
			j++
		}
		if n := j - i; n >= 3 && n <= 8 {
			w := head[i:j]
			if isUpper(w) {
				if l, ok := levelWords[w]; ok {
					return l
				}
			}
			// [error], <warn>, level names in lower case only when bracketed.
			if i > 0 && j < len(head) && (head[i-1] == '[' && head[j] == ']' || head[i-1] == '<' && head[j] == '>') {
				if l := NormalizeLevel(w); l != "" {
					return l
				}
			}
		}
		i = j
	}
	switch {
	case strings.HasPrefix(msg, "Traceback (most recent call last)"),
		strings.HasPrefix(msg, "panic: "),
		strings.HasPrefix(msg, "Exception in thread"),
		strings.Contains(head, "Exception: ") && strings.Contains(msg, "\n\tat "):
		return "error"
	}
	return ""
}

// indexLevelKV returns where the value of a level=/lvl=/severity= pair starts.
func indexLevelKV(s string) int {
	for _, k := range []string{"level=", "lvl=", "severity=", "level\":", "level\": "} {
		i := strings.Index(s, k)
		if i >= 0 && (i == 0 || !isLetter(s[i-1])) {
			j := i + len(k)
			for j < len(s) && s[j] == ' ' {
				j++
			}
			return j
		}
	}
	return -1
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return len(s) > 0
}

func isUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// hasField reports whether fields holds name.
func hasField(fields []logs.Field, name string) bool {
	for _, f := range fields {
		if f.Name == name {
			return true
		}
	}
	return false
}
