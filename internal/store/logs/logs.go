// Package logs stores and queries log records with LogsQL. The embedded
// implementation uses VictoriaLogs' storage engine as a library; a remote one
// (a VictoriaLogs server) can sit behind the same interface.
package logs

import (
	"context"
	"errors"
	"time"
)

// StreamFields identify a log stream: one container's output.
var StreamFields = []string{"namespace", "pod", "container"}

// HostStreamFields identify a stream of a record that has no container, such as a host log file.
var HostStreamFields = []string{"node", "file"}

// SourceStreamFields identify a stream of records that belong to neither, such as
// the API server's audit events (source="kube-audit").
var SourceStreamFields = []string{"source"}

// Field is one name=value pair of a record.
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Record is one log line with its fields. _msg is the message; _time comes from Time.
type Record struct {
	Time   time.Time
	Fields []Field
}

// ValueWithHits is a field name or value with how many records carry it.
type ValueWithHits struct {
	Value string `json:"value"`
	Hits  uint64 `json:"hits"`
}

// HitsSeries counts records per time bucket for one combination of grouping fields.
type HitsSeries struct {
	Fields     map[string]string `json:"fields"`
	Timestamps []time.Time       `json:"timestamps"`
	Values     []uint64          `json:"values"`
	Total      uint64            `json:"total"`
}

// StatsSeries is one series of a stats query over time.
type StatsSeries struct {
	Name   string
	Labels []Field
	Points []StatsPoint
}

// StatsPoint is a stats value at a time.
type StatsPoint struct {
	Time  time.Time
	Value string
}

// Range limits a query to [Start, End]; zero values mean unbounded.
type Range struct {
	Start, End time.Time
}

// Store is what vigil needs from log storage; it mirrors the VictoriaLogs HTTP API.
type Store interface {
	Write(ctx context.Context, records []Record) error
	// Query calls fn for each matching row, newest first when limit > 0.
	Query(ctx context.Context, query string, r Range, limit int, fn func(row []Field) error) error
	Hits(ctx context.Context, query string, r Range, step time.Duration, fields []string, fieldsLimit int) ([]HitsSeries, error)
	FieldNames(ctx context.Context, query string, r Range) ([]ValueWithHits, error)
	FieldValues(ctx context.Context, query string, r Range, field string, limit int) ([]ValueWithHits, error)
	StatsQueryRange(ctx context.Context, query string, r Range, step time.Duration) ([]StatsSeries, error)
	Close() error
}

// Subscriber is a Store that streams rows as they are written (live tail).
type Subscriber interface {
	// Subscribe delivers each row written from now on that matches filter
	// (LogsQL without pipes). A consumer slower than the writers loses rows
	// rather than slowing them and lost counts them; stop ends the subscription.
	Subscribe(filter string, buffer int) (rows <-chan []Field, lost func() int64, stop func(), err error)
}

// ErrDiskFull is returned by Write while free disk is below the configured minimum.
var ErrDiskFull = errors.New("log storage is read-only: free disk space is below the configured minimum")

// BadQueryError marks an error caused by the query (HTTP 400).
type BadQueryError struct{ Err error }

func (e BadQueryError) Error() string { return e.Err.Error() }
func (e BadQueryError) Unwrap() error { return e.Err }
