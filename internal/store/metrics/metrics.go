// Package metrics stores and queries time series. The embedded implementation
// uses the Prometheus TSDB and PromQL engine as libraries; a remote one
// (remote-write target plus a Prometheus query API) can sit behind the same interface.
package metrics

import (
	"context"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/annotations"
)

// Sample is one value at a time in milliseconds since the epoch.
type Sample struct {
	T int64
	V float64
}

// Series is a labelled list of samples to write.
type Series struct {
	Labels  labels.Labels
	Samples []Sample
}

// WriteStats tells what a write stored and what it refused.
type WriteStats struct {
	Samples  int // stored
	Rejected int // out of bounds, duplicates with other values, invalid labels
}

// QueryResult is a PromQL result with its warnings.
type QueryResult struct {
	Value    parser.Value
	Warnings annotations.Annotations
}

// Store is what the rest of vigil needs from metrics storage. Its methods
// mirror the Prometheus HTTP API so a remote backend maps onto it one to one.
type Store interface {
	Write(ctx context.Context, series []Series) (WriteStats, error)
	Query(ctx context.Context, expr string, ts time.Time) (QueryResult, error)
	QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) (QueryResult, error)
	Series(ctx context.Context, matchers []string, start, end time.Time, limit int) ([]labels.Labels, error)
	LabelNames(ctx context.Context, matchers []string, start, end time.Time, limit int) ([]string, error)
	LabelValues(ctx context.Context, name string, matchers []string, start, end time.Time, limit int) ([]string, error)
	Close() error
}

// BadQueryError marks an error caused by the query itself (HTTP 400), not the store.
type BadQueryError struct{ Err error }

func (e BadQueryError) Error() string { return e.Err.Error() }
func (e BadQueryError) Unwrap() error { return e.Err }

// Compile-time check that engine results keep the promql value types.
var _ parser.Value = promql.Matrix{}
