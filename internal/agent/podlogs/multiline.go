package podlogs

import (
	"bytes"
	"regexp"
)

// Stack traces are written as many lines; joined, a trace is one searchable
// entry with one level and one time. The rules are conservative: a line is
// only joined to the entry before it when its shape says it continues a
// trace that entry started.

type traceMode uint8

const (
	traceNone traceMode = iota
	traceJava
	tracePython
	traceGo
)

var (
	// java.lang.IllegalStateException: msg / Exception in thread "main" ...
	javaHeaderRE = regexp.MustCompile(`^(Exception in thread "[^"]*" )?([A-Za-z_$][\w$]*\.)+[A-Za-z_$][\w$]*(Exception|Error|Throwable)(: |$)`)
	// Frames and the lines between them.
	javaContRE = regexp.MustCompile(`^(\s+at \S|\s+\.\.\. \d+ (more|common frames omitted)|Caused by: |\s+Suppressed: |\s+Caused by: )`)
	// The last line of a Python traceback: ValueError: msg, or a bare class name.
	pythonEndRE = regexp.MustCompile(`^[A-Za-z_][\w.]*(: .*)?$`)
	// Go: function lines, e.g. main.main() or net/http.(*conn).serve(0xc000...).
	goFuncRE = regexp.MustCompile(`^(created by )?[\w./*()\[\]-]+\(.*\)( in goroutine \d+)?$|^created by `)
)

func traceStart(b []byte) traceMode {
	switch {
	case bytes.HasPrefix(b, []byte("Traceback (most recent call last):")):
		return tracePython
	case bytes.HasPrefix(b, []byte("panic: ")), bytes.HasPrefix(b, []byte("fatal error: ")),
		bytes.HasPrefix(b, []byte("goroutine ")) && bytes.HasSuffix(b, []byte("]:")):
		return traceGo
	case javaHeaderRE.Match(b):
		return traceJava
	}
	return traceNone
}

// continues reports whether line continues a trace in mode, and whether it
// ends it (Python's exception line is its last).
func continues(mode traceMode, line []byte) (joined, ends bool) {
	// Java frames continue any entry: their shape is unmistakable, and the
	// header is often the logger's own line ("ERROR request failed").
	if javaContRE.Match(line) {
		return true, false
	}
	switch mode {
	case traceJava:
		return false, false
	case tracePython:
		switch {
		case bytes.HasPrefix(line, []byte(" ")), bytes.HasPrefix(line, []byte("\t")), len(line) == 0:
			return true, false
		case bytes.HasPrefix(line, []byte("During handling of the above exception")),
			bytes.HasPrefix(line, []byte("The above exception was the direct cause")),
			bytes.HasPrefix(line, []byte("Traceback (most recent call last):")):
			return true, false
		case pythonEndRE.Match(line):
			return true, true
		}
	case traceGo:
		switch {
		case len(line) == 0, bytes.HasPrefix(line, []byte("\t")),
			bytes.HasPrefix(line, []byte("goroutine ")), bytes.HasPrefix(line, []byte("[signal ")),
			bytes.HasPrefix(line, []byte("exit status ")), goFuncRE.Match(line):
			return true, false
		}
	}
	return false, false
}

type traceKey struct{ path, stream string }

type openTrace struct {
	idx  int
	mode traceMode
}

// joinTraces merges the lines of stack traces into the record that starts
// them, per file and stream, keeping each joined message within maxMsg.
// recs is reused for the result.
func joinTraces(recs []record, maxMsg int) []record {
	out := recs[:0]
	open := map[traceKey]openTrace{}
	for _, r := range recs {
		if r.malformed || r.truncated || r.partial || r.continuation {
			delete(open, traceKey{r.path, r.stream})
			out = append(out, r)
			continue
		}
		k := traceKey{r.path, r.stream}
		if ot, ok := open[k]; ok {
			if j, ends := continues(ot.mode, r.body); j {
				prev := &out[ot.idx]
				if len(prev.body)+1+len(r.body) <= maxMsg {
					nb := make([]byte, 0, len(prev.body)+1+len(r.body))
					nb = append(append(append(nb, prev.body...), '\n'), r.body...)
					prev.body = nb
					prev.ids = append(prev.ids, r.ids...)
					if ends {
						delete(open, k)
					}
					continue
				}
			}
			delete(open, k)
		}
		out = append(out, r)
		if m := traceStart(r.body); m != traceNone {
			open[k] = openTrace{idx: len(out) - 1, mode: m}
		} else if javaContRE.Match(r.body) {
			// A frame whose entry went out in an earlier batch: later frames still join it.
			open[k] = openTrace{idx: len(out) - 1, mode: traceJava}
		} else {
			// Any line may be the logger's line above a Java trace.
			open[k] = openTrace{idx: len(out) - 1, mode: traceNone}
		}
	}
	clear(recs[len(out):])
	return out
}
