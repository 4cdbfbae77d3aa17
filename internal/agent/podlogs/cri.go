package podlogs

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// Stream names as written by the container runtime.
const (
	StreamStdout = "stdout"
	StreamStderr = "stderr"
)

// CRILine is one physical line of a CRI container log file:
//
//	<RFC3339Nano time> <stdout|stderr> <F|P>[:more tags] <message>
//
// A "P" (partial) line is continued by the following lines of the same
// stream up to and including the next "F" (full) line. Runtimes split
// application lines longer than their buffer (16 KiB for containerd) this way.
type CRILine struct {
	Time    time.Time
	Stream  string
	Partial bool
	// Message aliases the input of ParseCRI; copy it before keeping it.
	Message []byte
}

// ErrMalformed is returned (wrapped) by ParseCRI for lines that are not in
// the CRI format.
var ErrMalformed = errors.New("malformed CRI log line")

// ParseCRI parses one CRI log line without its trailing newline. A trailing
// carriage return is tolerated and removed. Invalid UTF-8 in the message is
// kept as is; callers sanitize when they build text out of it.
func ParseCRI(line []byte) (CRILine, error) {
	line = bytes.TrimSuffix(line, []byte{'\r'})

	ts, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok {
		return CRILine{}, fmt.Errorf("%w: no stream field", ErrMalformed)
	}
	// time.Parse accepts any RFC 3339 time with or without fractional seconds,
	// which covers runtimes that trim trailing zeros.
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return CRILine{}, fmt.Errorf("%w: bad timestamp", ErrMalformed)
	}

	stream, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		return CRILine{}, fmt.Errorf("%w: no tag field", ErrMalformed)
	}
	var s string
	switch string(stream) {
	case StreamStdout:
		s = StreamStdout
	case StreamStderr:
		s = StreamStderr
	default:
		return CRILine{}, fmt.Errorf("%w: unknown stream", ErrMalformed)
	}

	// The message may be empty, and some writers then omit the separator.
	tags, msg, _ := bytes.Cut(rest, []byte{' '})
	// The tag field is a ':'-separated list whose first element is the
	// partial/full marker; later elements are reserved for future use.
	first, _, _ := bytes.Cut(tags, []byte{':'})
	var partial bool
	switch string(first) {
	case "F":
	case "P":
		partial = true
	default:
		return CRILine{}, fmt.Errorf("%w: unknown tag", ErrMalformed)
	}

	return CRILine{Time: t, Stream: s, Partial: partial, Message: msg}, nil
}
