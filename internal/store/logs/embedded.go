package logs

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/VictoriaLogs/lib/logstorage"
	vmlogger "github.com/VictoriaMetrics/VictoriaMetrics/lib/logger"
)

// Options configure the embedded store.
type Options struct {
	Dir       string
	Retention time.Duration // at least 24h: the engine drops whole days
	// MaxDiskBytes drops the oldest days when logs use more than this; 0 = no cap.
	MaxDiskBytes int64
	// MinFreeDiskBytes: below this much free disk the store refuses writes
	// (senders get a retryable error and keep their data) instead of filling the disk.
	MinFreeDiskBytes int64
	// MemoryAllowedBytes caps the engine's caches (it would take 60% of RAM otherwise).
	MemoryAllowedBytes int64
	Logger             *slog.Logger
}

// Embedded is the in-process VictoriaLogs storage.
type Embedded struct {
	s      *logstorage.Storage
	tenant logstorage.TenantID
	log    *slog.Logger

	subsMu sync.RWMutex
	subs   map[*subscription]struct{}
}

type subscription struct {
	f    *logstorage.Filter
	ch   chan []Field
	lost atomic.Int64
}

// Subscribe implements Subscriber: rows are matched in Write, before they
// reach the engine, so a live tail sees them at once.
func (e *Embedded) Subscribe(filter string, buffer int) (<-chan []Field, func() int64, func(), error) {
	f, err := logstorage.ParseFilter(filter)
	if err != nil {
		return nil, nil, nil, BadQueryError{fmt.Errorf("parse LogsQL filter %q: %w", filter, err)}
	}
	sub := &subscription{f: f, ch: make(chan []Field, max(buffer, 1))}
	e.subsMu.Lock()
	if e.subs == nil {
		e.subs = map[*subscription]struct{}{}
	}
	e.subs[sub] = struct{}{}
	e.subsMu.Unlock()
	stop := func() {
		e.subsMu.Lock()
		delete(e.subs, sub)
		e.subsMu.Unlock()
	}
	return sub.ch, sub.lost.Load, stop, nil
}

// publish hands a written row to the subscriptions it matches.
func (e *Embedded) publish(t time.Time, fields []logstorage.Field) {
	e.subsMu.RLock()
	defer e.subsMu.RUnlock()
	var row []Field
	for sub := range e.subs {
		if !sub.f.MatchRow(fields) {
			continue
		}
		if row == nil {
			row = make([]Field, 0, len(fields)+1)
			row = append(row, Field{Name: "_time", Value: t.UTC().Format(time.RFC3339Nano)})
			for _, f := range fields {
				row = append(row, Field{Name: f.Name, Value: f.Value})
			}
		}
		select {
		case sub.ch <- row:
		default:
			sub.lost.Add(1)
		}
	}
}

var initEngineOnce sync.Once
var initEngineErr error

// initEngine satisfies the library's global requirements: its settings live on
// the standard flag set (vigil's own flags are on pflag, so nothing collides),
// and it insists that flag.Parse has run.
func initEngine(memBytes int64) error {
	initEngineOnce.Do(func() {
		if memBytes <= 0 {
			memBytes = 512 << 20
		}
		set := func(name, value string) {
			if f := flag.CommandLine.Lookup(name); f != nil {
				if err := f.Value.Set(value); err != nil && initEngineErr == nil {
					initEngineErr = fmt.Errorf("set %s: %w", name, err)
				}
			}
		}
		set("memory.allowedBytes", strconv.FormatInt(memBytes, 10))
		set("loggerLevel", "ERROR")
		if !flag.Parsed() {
			// Parse nothing: vigil's command line belongs to cobra.
			if err := flag.CommandLine.Parse(nil); err != nil {
				initEngineErr = err
				return
			}
		}
		vmlogger.InitNoLogFlags()
	})
	return initEngineErr
}

// OpenEmbedded opens the log storage in opts.Dir.
func OpenEmbedded(opts Options) (e *Embedded, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := initEngine(opts.MemoryAllowedBytes); err != nil {
		return nil, fmt.Errorf("init log engine: %w", err)
	}
	if opts.Retention < 24*time.Hour {
		opts.Retention = 24 * time.Hour
	}
	defer contain(&err, "open log storage")
	s := logstorage.MustOpenStorage(opts.Dir, &logstorage.StorageConfig{
		Retention:              opts.Retention,
		MaxDiskSpaceUsageBytes: opts.MaxDiskBytes,
		FlushInterval:          time.Second,
		FutureRetention:        24 * time.Hour,
		MinFreeDiskSpaceBytes:  opts.MinFreeDiskBytes,
	})
	return &Embedded{s: s, log: opts.Logger}, nil
}

// contain turns the engine's panics into errors at the package boundary.
func contain(err *error, what string) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%s: %v", what, r)
	}
}

// Close flushes and closes the storage.
func (e *Embedded) Close() (err error) {
	defer contain(&err, "close log storage")
	e.s.MustClose()
	return nil
}

// Flush makes recently written rows searchable now (tests, shutdown).
func (e *Embedded) Flush() { e.s.DebugFlush() }

// Write stores records. Stream fields come first in each row so the engine
// groups one container's lines into one stream.
func (e *Embedded) Write(ctx context.Context, records []Record) (err error) {
	if len(records) == 0 {
		return nil
	}
	defer contain(&err, "write logs")
	if e.s.IsReadOnly() {
		return ErrDiskFull
	}
	e.subsMu.RLock()
	live := len(e.subs) > 0
	e.subsMu.RUnlock()
	lr := logstorage.GetLogRows(nil, nil, nil, nil, "")
	defer logstorage.PutLogRows(lr)
	fields := make([]logstorage.Field, 0, 16)
	for _, r := range records {
		fields = fields[:0]
		for _, sf := range StreamFields {
			for _, f := range r.Fields {
				if f.Name == sf && f.Value != "" {
					fields = append(fields, logstorage.Field{Name: f.Name, Value: f.Value})
					break
				}
			}
		}
		streamFields := StreamFields
		// Not a container's output: a host log file is one stream per node and
		// file; anything else (e.g. the API server's audit events) one per source.
		for _, alt := range [][]string{HostStreamFields, SourceStreamFields} {
			if len(fields) > 0 {
				break
			}
			streamFields = alt
			for _, sf := range streamFields {
				for _, f := range r.Fields {
					if f.Name == sf && f.Value != "" {
						fields = append(fields, logstorage.Field{Name: f.Name, Value: f.Value})
						break
					}
				}
			}
		}
		nStream := len(fields)
		for _, f := range r.Fields {
			if f.Value == "" || slices.Contains(streamFields, f.Name) {
				continue
			}
			fields = append(fields, logstorage.Field{Name: f.Name, Value: f.Value})
		}
		lr.MustAdd(e.tenant, r.Time.UnixNano(), fields, nStream)
		if live {
			e.publish(r.Time, fields)
		}
	}
	e.s.MustAddRows(lr)
	return nil
}

func (e *Embedded) parse(query string, r Range) (*logstorage.Query, error) {
	q, err := logstorage.ParseQueryAtTimestamp(query, time.Now().UnixNano())
	if err != nil {
		return nil, BadQueryError{fmt.Errorf("parse LogsQL %q: %w", query, err)}
	}
	start, end := int64(math.MinInt64), int64(math.MaxInt64)
	if !r.Start.IsZero() {
		start = r.Start.UnixNano()
	}
	if !r.End.IsZero() {
		end = r.End.UnixNano()
	}
	if start != math.MinInt64 || end != math.MaxInt64 {
		q.AddTimeFilter(start, end)
	}
	return q, nil
}

func (e *Embedded) qctx(ctx context.Context, q *logstorage.Query) *logstorage.QueryContext {
	return logstorage.NewQueryContext(ctx, &logstorage.QueryStats{}, []logstorage.TenantID{e.tenant}, q, false, nil)
}

// Query runs a LogsQL query and calls fn per row (newest first when limit > 0).
func (e *Embedded) Query(ctx context.Context, query string, r Range, limit int, fn func(row []Field) error) error {
	if limit > 0 {
		q, err := e.parse(query, Range{})
		if err != nil {
			return err
		}
		// Only plain filters: a pipe (stats, sort, …) needs every row at once.
		if !strings.Contains(q.String(), "|") {
			return e.queryNewestFirst(ctx, query, r, limit, fn)
		}
	}
	return e.queryOnce(ctx, query, r, limit, fn)
}

// queryNewestFirst answers "the newest limit rows" by searching time windows
// backwards from the end of the range, each twice as long as the one
// before, and stops as soon as limit rows are found. A word that is common
// is then found in the last minutes instead of by scanning every day stored.
func (e *Embedded) queryNewestFirst(ctx context.Context, query string, r Range, limit int, fn func(row []Field) error) error {
	now := r.End
	if now.IsZero() {
		now = time.Now()
	}
	var rows [][]Field
	collect := func(row []Field) error {
		rows = append(rows, row)
		return nil
	}
	hi := r.End // zero: unbounded, which keeps rows stamped in the near future
	for w := time.Minute; ; w *= 2 {
		lo := now.Add(-w)
		last := false
		switch {
		case !r.Start.IsZero() && !lo.After(r.Start):
			lo, last = r.Start, true
		case r.Start.IsZero() && w > 50*365*24*time.Hour:
			lo, last = time.Time{}, true
		}
		if err := e.queryOnce(ctx, query, Range{Start: lo, End: hi}, limit-len(rows), collect); err != nil {
			return err
		}
		if len(rows) >= limit || last {
			break
		}
		hi = lo.Add(-time.Nanosecond)
	}
	for _, row := range rows[:min(limit, len(rows))] {
		if err := fn(row); err != nil {
			return err
		}
	}
	return nil
}

func (e *Embedded) queryOnce(ctx context.Context, query string, r Range, limit int, fn func(row []Field) error) (err error) {
	q, err := e.parse(query, r)
	if err != nil {
		return err
	}
	if limit > 0 {
		q.AddPipeSortByTimeDesc()
		q.AddPipeOffsetLimit(0, uint64(limit))
	}
	defer contain(&err, "run LogsQL query")
	// Without a limit rows stream to fn as blocks arrive, so memory stays
	// bounded however many match; with one, at most limit rows are held to sort.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu     sync.Mutex
		rows   [][]Field
		fnErr  error
		stream = limit <= 0
	)
	write := func(_ uint, db *logstorage.DataBlock) {
		cols := db.GetColumns(false)
		n := db.RowsCount()
		batch := make([][]Field, 0, n)
		for i := range n {
			row := make([]Field, 0, len(cols))
			for _, c := range cols {
				if v := c.Values[i]; v != "" {
					row = append(row, Field{Name: strings.Clone(c.Name), Value: strings.Clone(v)})
				}
			}
			batch = append(batch, row)
		}
		mu.Lock()
		defer mu.Unlock()
		if !stream {
			rows = append(rows, batch...)
			return
		}
		for _, row := range batch {
			if fnErr != nil {
				return
			}
			if fnErr = fn(row); fnErr != nil {
				cancel() // stop the search: the consumer is gone
			}
		}
	}
	if err := e.s.RunQuery(e.qctx(ctx, q), write); err != nil && fnErr == nil {
		return queryErr(err)
	}
	if stream {
		return fnErr
	}
	// Blocks arrive from parallel workers; restore newest-first order.
	slices.SortStableFunc(rows, func(a, b []Field) int { return cmpInt(timeOf(b), timeOf(a)) })
	for _, row := range rows {
		if err := fn(row); err != nil {
			return err
		}
	}
	return nil
}

// timeOf returns the row's _time in nanoseconds, or MinInt64 when absent.
func timeOf(row []Field) int64 {
	for _, f := range row {
		if f.Name == "_time" {
			if ns, ok := logstorage.TryParseTimestampRFC3339Nano(f.Value); ok {
				return ns
			}
		}
	}
	return math.MinInt64
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func queryErr(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("run LogsQL query: %w", err)
}

// Hits counts matching records per step, grouped by fields.
func (e *Embedded) Hits(ctx context.Context, query string, r Range, step time.Duration, fields []string, fieldsLimit int) (out []HitsSeries, err error) {
	if step <= 0 {
		return nil, BadQueryError{errors.New("step must be positive")}
	}
	q, err := e.parse(query, r)
	if err != nil {
		return nil, err
	}
	q.AddCountByTimePipe(step.Nanoseconds(), 0, fields)
	defer contain(&err, "run hits query")
	var mu sync.Mutex
	m := map[string]*HitsSeries{}
	write := func(_ uint, db *logstorage.DataBlock) {
		cols := db.GetColumns(false)
		n := db.RowsCount()
		if n == 0 || len(cols) < 2 {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for i := range n {
			ts, ok := logstorage.TryParseTimestampRFC3339Nano(cols[0].Values[i])
			if !ok {
				continue
			}
			hits, _ := strconv.ParseUint(cols[len(cols)-1].Values[i], 10, 64)
			var key strings.Builder
			group := map[string]string{}
			for _, c := range cols[1 : len(cols)-1] {
				group[strings.Clone(c.Name)] = strings.Clone(c.Values[i])
				key.WriteString(c.Name + "\x00" + c.Values[i] + "\x00")
			}
			hs := m[key.String()]
			if hs == nil {
				hs = &HitsSeries{Fields: group}
				m[key.String()] = hs
			}
			hs.Timestamps = append(hs.Timestamps, time.Unix(0, ts).UTC())
			hs.Values = append(hs.Values, hits)
			hs.Total += hits
		}
	}
	if err := e.s.RunQuery(e.qctx(ctx, q), write); err != nil {
		return nil, queryErr(err)
	}
	for _, hs := range m {
		idx := make([]int, len(hs.Timestamps))
		for i := range idx {
			idx[i] = i
		}
		slices.SortFunc(idx, func(a, b int) int { return hs.Timestamps[a].Compare(hs.Timestamps[b]) })
		ts, vs := make([]time.Time, len(idx)), make([]uint64, len(idx))
		for j, i := range idx {
			ts[j], vs[j] = hs.Timestamps[i], hs.Values[i]
		}
		hs.Timestamps, hs.Values = ts, vs
		out = append(out, *hs)
	}
	slices.SortFunc(out, func(a, b HitsSeries) int {
		if a.Total != b.Total {
			if a.Total > b.Total {
				return -1
			}
			return 1
		}
		return strings.Compare(fmt.Sprint(a.Fields), fmt.Sprint(b.Fields))
	})
	if fieldsLimit > 0 && len(out) > fieldsLimit {
		out = out[:fieldsLimit]
	}
	return out, nil
}

func convertVWH(in []logstorage.ValueWithHits) []ValueWithHits {
	out := make([]ValueWithHits, len(in))
	for i, v := range in {
		out[i] = ValueWithHits{Value: v.Value, Hits: v.Hits}
	}
	return out
}

// FieldNames lists the field names of matching records with hit counts.
func (e *Embedded) FieldNames(ctx context.Context, query string, r Range) (out []ValueWithHits, err error) {
	q, err := e.parse(query, r)
	if err != nil {
		return nil, err
	}
	defer contain(&err, "get field names")
	vs, err := e.s.GetFieldNames(e.qctx(ctx, q), "")
	if err != nil {
		return nil, queryErr(err)
	}
	return convertVWH(vs), nil
}

// FieldValues lists values of a field in matching records with hit counts.
func (e *Embedded) FieldValues(ctx context.Context, query string, r Range, field string, limit int) (out []ValueWithHits, err error) {
	if field == "" {
		return nil, BadQueryError{errors.New("missing field")}
	}
	q, err := e.parse(query, r)
	if err != nil {
		return nil, err
	}
	defer contain(&err, "get field values")
	vs, err := e.s.GetFieldValues(e.qctx(ctx, q), field, "", uint64(max(limit, 0)))
	if err != nil {
		return nil, queryErr(err)
	}
	out = convertVWH(vs)
	slices.SortFunc(out, func(a, b ValueWithHits) int {
		if a.Hits != b.Hits {
			if a.Hits > b.Hits {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Value, b.Value)
	})
	return out, nil
}

// StatsQueryRange runs a query ending in a `stats` pipe, bucketed by step.
func (e *Embedded) StatsQueryRange(ctx context.Context, query string, r Range, step time.Duration) (out []StatsSeries, err error) {
	if step <= 0 {
		return nil, BadQueryError{errors.New("step must be positive")}
	}
	q, err := e.parse(query, r)
	if err != nil {
		return nil, err
	}
	labelFields, err := q.GetStatsLabelsAddGroupingByTime(step.Nanoseconds(), 0)
	if err != nil {
		return nil, BadQueryError{err}
	}
	defer contain(&err, "run stats query")
	var mu sync.Mutex
	m := map[string]*StatsSeries{}
	write := func(_ uint, db *logstorage.DataBlock) {
		cols := db.GetColumns(false)
		n := db.RowsCount()
		mu.Lock()
		defer mu.Unlock()
		for i := range n {
			var ts time.Time
			var lbls []Field
			for _, c := range cols {
				if c.Name == "_time" {
					if ns, ok := logstorage.TryParseTimestampRFC3339Nano(c.Values[i]); ok {
						ts = time.Unix(0, ns).UTC()
					}
					continue
				}
				if slices.Contains(labelFields, c.Name) {
					lbls = append(lbls, Field{Name: strings.Clone(c.Name), Value: strings.Clone(c.Values[i])})
				}
			}
			for _, c := range cols {
				if c.Name == "_time" || slices.Contains(labelFields, c.Name) {
					continue
				}
				key := c.Name + "\x00" + fmt.Sprint(lbls)
				ss := m[key]
				if ss == nil {
					ss = &StatsSeries{Name: strings.Clone(c.Name), Labels: lbls}
					m[key] = ss
				}
				ss.Points = append(ss.Points, StatsPoint{Time: ts, Value: strings.Clone(c.Values[i])})
			}
		}
	}
	if err := e.s.RunQuery(e.qctx(ctx, q), write); err != nil {
		return nil, queryErr(err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		ss := m[k]
		slices.SortFunc(ss.Points, func(a, b StatsPoint) int { return a.Time.Compare(b.Time) })
		out = append(out, *ss)
	}
	return out, nil
}

// DeleteBefore starts deleting the rows that match the LogsQL filter and
// are older than before. The engine runs deletions in the background, one
// at a time, and keeps pending ones across restarts.
func (e *Embedded) DeleteBefore(ctx context.Context, filter string, before time.Time) (err error) {
	defer contain(&err, "delete logs")
	now := time.Now()
	f, err := logstorage.ParseFilterAtTimestamp(fmt.Sprintf("(%s) _time:<%s", filter, before.UTC().Format(time.RFC3339Nano)), now.UnixNano())
	if err != nil {
		return BadQueryError{fmt.Errorf("parse delete filter %q: %w", filter, err)}
	}
	id := fmt.Sprintf("vigil-%d", now.UnixNano())
	return e.s.DeleteRunTask(ctx, id, now.UnixNano(), []logstorage.TenantID{e.tenant}, f)
}

// PendingDeletes counts deletions not finished yet.
func (e *Embedded) PendingDeletes(ctx context.Context) int {
	ts, err := e.s.DeleteActiveTasks(ctx)
	if err != nil {
		return 0
	}
	return len(ts)
}
