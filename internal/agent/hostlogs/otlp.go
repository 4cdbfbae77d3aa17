package hostlogs

import (
	"path/filepath"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Attribute keys. The server maps k8s.node.name to its node field, host.name
// to host and log.file.path to file.
const (
	AttrNodeName     = "k8s.node.name"
	AttrHostName     = "host.name"
	AttrFilePath     = "log.file.path"
	AttrFileName     = "log.file.name"
	AttrTruncated    = "log.truncated"
	AttrContinuation = "log.continuation"
)

const scopeName = "vigil/internal/agent/hostlogs"

// record is one log record ready to be encoded.
type record struct {
	path     string
	time     time.Time // zero when the line carries none
	observed time.Time
	level    string
	body     string
	// truncated: the line exceeded MaxMessageBytes and was cut here; the
	// rest follows in the next record(s) of the same file.
	truncated bool
	// continuation: an earlier part of this line was already shipped.
	continuation bool
	id           uint64
}

var severityNumbers = map[string]plog.SeverityNumber{
	LevelTrace: plog.SeverityNumberTrace,
	LevelDebug: plog.SeverityNumberDebug,
	LevelInfo:  plog.SeverityNumberInfo,
	LevelWarn:  plog.SeverityNumberWarn,
	LevelError: plog.SeverityNumberError,
	LevelFatal: plog.SeverityNumberFatal,
}

// buildLogs puts all records under one resource: they all come from this
// host.
func buildLogs(recs []record, node string) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	if node != "" {
		a := rl.Resource().Attributes()
		a.PutStr(AttrNodeName, node)
		a.PutStr(AttrHostName, node)
	}
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(scopeName)
	lrs := sl.LogRecords()
	lrs.EnsureCapacity(len(recs))
	for _, r := range recs {
		lr := lrs.AppendEmpty()
		ts := r.time
		if ts.IsZero() {
			ts = r.observed
		}
		lr.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(r.observed))
		lr.Body().SetStr(r.body)
		if r.level != "" {
			lr.SetSeverityText(r.level)
			lr.SetSeverityNumber(severityNumbers[r.level])
		}
		a := lr.Attributes()
		a.PutStr(AttrFilePath, r.path)
		a.PutStr(AttrFileName, filepath.Base(r.path))
		if r.truncated {
			a.PutBool(AttrTruncated, true)
		}
		if r.continuation {
			a.PutBool(AttrContinuation, true)
		}
	}
	return ld
}

// recordSize estimates a record's encoded size for batch bounding.
func recordSize(r record) int {
	return len(r.body) + 2*len(r.path) + 96
}
