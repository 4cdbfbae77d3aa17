package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/util/annotations"
)

// Options configure the embedded store.
type Options struct {
	Dir           string
	Retention     time.Duration // samples older than this are deleted with their blocks
	MaxBytes      int64         // optional size cap for blocks; 0 = none
	QueryTimeout  time.Duration
	MaxSamples    int
	LookbackDelta time.Duration
	// OutOfOrderWindow lets agents replay buffered samples after an outage.
	OutOfOrderWindow time.Duration
	Registerer       prometheus.Registerer
	Logger           *slog.Logger
}

// Embedded is the in-process TSDB + PromQL store.
type Embedded struct {
	db     *tsdb.DB
	engine *promql.Engine
	parser parser.Parser
	log    *slog.Logger
}

// OpenEmbedded opens the TSDB in opts.Dir.
func OpenEmbedded(opts Options) (*Embedded, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = 2 * time.Minute
	}
	if opts.MaxSamples <= 0 {
		opts.MaxSamples = 50_000_000
	}
	if opts.LookbackDelta <= 0 {
		opts.LookbackDelta = 5 * time.Minute
	}
	if opts.OutOfOrderWindow <= 0 {
		opts.OutOfOrderWindow = time.Hour
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create metrics dir: %w", err)
	}
	to := tsdb.DefaultOptions()
	if opts.Retention > 0 {
		to.RetentionDuration = opts.Retention.Milliseconds()
		// Blocks must be shorter than retention or nothing is ever deleted.
		if maxBlock := opts.Retention.Milliseconds() / 10; maxBlock < to.MaxBlockDuration {
			to.MaxBlockDuration = max(maxBlock, to.MinBlockDuration)
		}
	}
	to.MaxBytes = opts.MaxBytes
	to.OutOfOrderTimeWindow = opts.OutOfOrderWindow.Milliseconds()
	db, err := tsdb.Open(opts.Dir, opts.Logger.With("component", "tsdb"), opts.Registerer, to, nil)
	if err != nil {
		return nil, fmt.Errorf("open tsdb %s: %w", opts.Dir, err)
	}
	engine := promql.NewEngine(promql.EngineOpts{
		Logger:               opts.Logger.With("component", "promql"),
		Reg:                  opts.Registerer,
		MaxSamples:           opts.MaxSamples,
		Timeout:              opts.QueryTimeout,
		LookbackDelta:        opts.LookbackDelta,
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
	})
	return &Embedded{db: db, engine: engine, parser: parser.NewParser(parser.Options{}), log: opts.Logger}, nil
}

// DB exposes the TSDB for tests and benchmarks.
func (e *Embedded) DB() *tsdb.DB { return e.db }

// Close flushes and closes the TSDB.
func (e *Embedded) Close() error { return e.db.Close() }

// Write appends series. Samples the TSDB refuses (too old, conflicting
// duplicates) are counted, not fatal, so one bad point cannot block a batch.
func (e *Embedded) Write(ctx context.Context, series []Series) (WriteStats, error) {
	var st WriteStats
	app := e.db.Appender(ctx)
	for _, s := range series {
		if _, dup := s.Labels.HasDuplicateLabelNames(); dup || s.Labels.Get(labels.MetricName) == "" {
			st.Rejected += len(s.Samples)
			continue
		}
		var ref storage.SeriesRef
		for _, smp := range s.Samples {
			r, err := app.Append(ref, s.Labels, smp.T, smp.V)
			if err != nil {
				if isSampleError(err) {
					st.Rejected++
					continue
				}
				_ = app.Rollback()
				return WriteStats{}, fmt.Errorf("append sample: %w", err)
			}
			ref = r
			st.Samples++
		}
	}
	if err := app.Commit(); err != nil {
		return WriteStats{}, fmt.Errorf("commit samples: %w", err)
	}
	return st, nil
}

func isSampleError(err error) bool {
	return errors.Is(err, storage.ErrOutOfBounds) || errors.Is(err, storage.ErrOutOfOrderSample) ||
		errors.Is(err, storage.ErrTooOldSample) || errors.Is(err, storage.ErrDuplicateSampleForTimestamp) ||
		errors.Is(err, storage.ErrOutOfOrderExemplar)
}

// Query runs an instant PromQL query.
func (e *Embedded) Query(ctx context.Context, expr string, ts time.Time) (QueryResult, error) {
	q, err := e.engine.NewInstantQuery(ctx, e.db, nil, expr, ts)
	if err != nil {
		return QueryResult{}, BadQueryError{err}
	}
	return e.exec(ctx, q)
}

// QueryRange runs a range PromQL query.
func (e *Embedded) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) (QueryResult, error) {
	if step <= 0 {
		return QueryResult{}, BadQueryError{errors.New("step must be positive")}
	}
	if end.Before(start) {
		return QueryResult{}, BadQueryError{errors.New("end is before start")}
	}
	if end.Sub(start)/step > 11000 {
		return QueryResult{}, BadQueryError{errors.New("exceeded maximum resolution of 11,000 points per timeseries; increase step")}
	}
	q, err := e.engine.NewRangeQuery(ctx, e.db, nil, expr, start, end, step)
	if err != nil {
		return QueryResult{}, BadQueryError{err}
	}
	return e.exec(ctx, q)
}

func (e *Embedded) exec(ctx context.Context, q promql.Query) (QueryResult, error) {
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		var (
			eqc promql.ErrQueryCanceled
			eqt promql.ErrQueryTimeout
			ets promql.ErrTooManySamples
		)
		switch {
		case errors.As(res.Err, &eqc), errors.As(res.Err, &eqt), errors.As(res.Err, &ets):
			return QueryResult{}, res.Err
		case errors.As(res.Err, new(promql.ErrStorage)):
			return QueryResult{}, res.Err
		}
		return QueryResult{}, BadQueryError{res.Err}
	}
	// The engine reuses result memory after Close; copy by value types is enough
	// because Matrix/Vector own their slices until Close returns them to pools.
	return QueryResult{Value: cloneValue(res.Value), Warnings: res.Warnings}, nil
}

func cloneValue(v parser.Value) parser.Value {
	switch t := v.(type) {
	case promql.Matrix:
		out := make(promql.Matrix, len(t))
		for i, s := range t {
			out[i] = promql.Series{Metric: s.Metric, Floats: slices.Clone(s.Floats), Histograms: slices.Clone(s.Histograms)}
		}
		return out
	case promql.Vector:
		return slices.Clone(t)
	}
	return v
}

func (e *Embedded) parseMatchers(matchers []string) ([][]*labels.Matcher, error) {
	sets, err := e.parser.ParseMetricSelectors(matchers)
	if err != nil {
		return nil, BadQueryError{err}
	}
	return sets, nil
}

func timeRange(start, end time.Time) (int64, int64) {
	mint, maxt := int64(math.MinInt64), int64(math.MaxInt64)
	if !start.IsZero() {
		mint = start.UnixMilli()
	}
	if !end.IsZero() {
		maxt = end.UnixMilli()
	}
	return mint, maxt
}

// querier parses matchers and opens a querier over [start, end], which the
// caller closes.
func (e *Embedded) querier(matchers []string, start, end time.Time) (sets [][]*labels.Matcher, q storage.Querier, mint, maxt int64, err error) {
	sets, err = e.parseMatchers(matchers)
	if err != nil {
		return nil, nil, 0, 0, err
	}
	mint, maxt = timeRange(start, end)
	q, err = e.db.Querier(mint, maxt)
	if err != nil {
		return nil, nil, 0, 0, fmt.Errorf("open querier: %w", err)
	}
	return sets, q, mint, maxt, nil
}

// Series returns the label sets of series matching any of the selectors.
func (e *Embedded) Series(ctx context.Context, matchers []string, start, end time.Time, limit int) ([]labels.Labels, error) {
	if len(matchers) == 0 {
		return nil, BadQueryError{errors.New("no match[] parameter provided")}
	}
	sets, q, mint, maxt, err := e.querier(matchers, start, end)
	if err != nil {
		return nil, err
	}
	defer q.Close()
	hints := &storage.SelectHints{Start: mint, End: maxt, Func: "series", Limit: limit}
	var sss []storage.SeriesSet
	for _, ms := range sets {
		sss = append(sss, q.Select(ctx, len(sets) > 1, hints, ms...))
	}
	set := sss[0]
	if len(sss) > 1 {
		set = storage.NewMergeSeriesSet(sss, 0, storage.ChainedSeriesMerge)
	}
	var out []labels.Labels
	for set.Next() {
		out = append(out, set.At().Labels())
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	if err := set.Err(); err != nil {
		return nil, fmt.Errorf("select series: %w", err)
	}
	return out, nil
}

// LabelNames returns label names, optionally limited to matching series.
func (e *Embedded) LabelNames(ctx context.Context, matchers []string, start, end time.Time, limit int) ([]string, error) {
	return e.labelStrings(matchers, start, end, limit, "label names", func(q storage.Querier, hints *storage.LabelHints, ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
		return q.LabelNames(ctx, hints, ms...)
	})
}

// LabelValues returns the values of a label, optionally limited to matching series.
func (e *Embedded) LabelValues(ctx context.Context, name string, matchers []string, start, end time.Time, limit int) ([]string, error) {
	return e.labelStrings(matchers, start, end, limit, "label values", func(q storage.Querier, hints *storage.LabelHints, ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
		return q.LabelValues(ctx, name, hints, ms...)
	})
}

// labelStrings merges what list returns for each matcher set (for all series
// when there is none) into a sorted, limited list; what names list in errors.
func (e *Embedded) labelStrings(matchers []string, start, end time.Time, limit int, what string,
	list func(storage.Querier, *storage.LabelHints, []*labels.Matcher) ([]string, annotations.Annotations, error)) ([]string, error) {
	sets, q, _, _, err := e.querier(matchers, start, end)
	if err != nil {
		return nil, err
	}
	defer q.Close()
	hints := &storage.LabelHints{Limit: limit}
	seen := map[string]struct{}{}
	if len(sets) == 0 {
		sets = [][]*labels.Matcher{nil}
	}
	for _, ms := range sets {
		vals, _, err := list(q, hints, ms)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		for _, v := range vals {
			seen[v] = struct{}{}
		}
	}
	return sortedLimit(seen, limit), nil
}

func sortedLimit(m map[string]struct{}, limit int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}
