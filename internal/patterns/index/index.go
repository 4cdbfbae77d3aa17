// Package index mines log patterns online as logs are ingested and keeps
// per-pattern counts per time bucket and stream in SQLite, so the patterns of
// days of logs are a cheap aggregate instead of a scan. It also serves
// GET /api/patterns.
package index

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"vigil/internal/patterns"
	"vigil/internal/store/logs"
)

// Bucket is the time resolution of the stored counts.
const Bucket = time.Minute

const templatesSchema = `
CREATE TABLE IF NOT EXISTS patterns_templates (
	id          INTEGER PRIMARY KEY,
	template    TEXT NOT NULL,
	sample      TEXT NOT NULL,
	merged_into INTEGER NOT NULL DEFAULT 0,
	created_at  INTEGER NOT NULL
);
`

// countsSchema is shared by the per-minute counts and their hourly rollup.
const countsSchema = `
CREATE TABLE IF NOT EXISTS %[1]s (
	bucket    INTEGER NOT NULL,
	namespace TEXT NOT NULL,
	pod       TEXT NOT NULL,
	container TEXT NOT NULL,
	node      TEXT NOT NULL,
	file      TEXT NOT NULL,
	id        INTEGER NOT NULL,
	count     INTEGER NOT NULL,
	first     INTEGER NOT NULL,
	last      INTEGER NOT NULL,
	PRIMARY KEY (bucket, namespace, pod, container, node, file, id)
) WITHOUT ROWID;
`

var schema = templatesSchema + fmt.Sprintf(countsSchema, "patterns_counts") + fmt.Sprintf(countsSchema, "patterns_counts_hourly")

// Hour is the resolution of the rollup that answers the whole hours of a window.
const Hour = time.Hour

// Options configure an Index.
type Options struct {
	// Retention drops counts older than this (default 7 days).
	Retention time.Duration
	// FlushInterval is how often counts are written to SQLite (default 5s).
	FlushInterval time.Duration
	// QueueBatches bounds the batches waiting to be mined; beyond it batches
	// are dropped and counted rather than slowing ingestion (default 1024).
	QueueBatches int
	Miner        patterns.Options
}

type stream struct{ namespace, pod, container, node, file string }

type countKey struct {
	bucket int64
	stream stream
	id     patterns.ID
}

type agg struct{ count, first, last int64 }

type entry struct {
	t      int64
	stream stream
	msg    string
}

type templateInfo struct {
	text       string
	sample     string
	mergedInto int64
}

// Index is the online pattern index.
type Index struct {
	db   *sql.DB
	log  *slog.Logger
	opts Options
	// Logs answers queries the index cannot (any filter beyond stream fields).
	Logs logs.Store

	queue chan []entry
	// Dropped counts entries not mined because the queue was full.
	Dropped atomic.Int64
	// Mined counts entries mined.
	Mined atomic.Int64

	mu      sync.Mutex // guards everything below
	miner   *patterns.Miner
	dbID    map[patterns.ID]int64
	pending map[countKey]*agg
	merges  [][2]patterns.ID
	changed map[patterns.ID]bool

	infoMu sync.RWMutex
	info   map[int64]*templateInfo // every stored template, for queries

	flushMu     sync.Mutex
	lastCleanup time.Time
}

// Open creates the tables if needed and loads the known templates.
func Open(ctx context.Context, db *sql.DB, store logs.Store, log *slog.Logger, opts Options) (*Index, error) {
	if opts.Retention <= 0 {
		opts.Retention = 7 * 24 * time.Hour
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 5 * time.Second
	}
	if opts.QueueBatches <= 0 {
		opts.QueueBatches = 1024
	}
	if log == nil {
		log = slog.Default()
	}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		return nil, fmt.Errorf("create pattern tables: %w", err)
	}
	x := &Index{db: db, log: log, opts: opts, Logs: store,
		queue:   make(chan []entry, opts.QueueBatches),
		miner:   patterns.NewMiner(opts.Miner),
		dbID:    map[patterns.ID]int64{},
		pending: map[countKey]*agg{},
		changed: map[patterns.ID]bool{},
		info:    map[int64]*templateInfo{},
	}
	x.miner.OnMerge = func(from, to patterns.ID) {
		x.merges = append(x.merges, [2]patterns.ID{from, to})
		x.changed[to] = true
	}
	x.miner.OnWiden = func(id patterns.ID) { x.changed[id] = true }
	rows, err := db.QueryContext(ctx, `SELECT id, template, sample, merged_into FROM patterns_templates ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("load patterns: %w", err)
	}
	type row struct {
		id           int64
		text, sample string
		merged       int64
	}
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.text, &r.sample, &r.merged); err != nil {
			rows.Close()
			return nil, fmt.Errorf("load patterns: %w", err)
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load patterns: %w", err)
	}
	for _, r := range all {
		x.info[r.id] = &templateInfo{text: r.text, sample: r.sample, mergedInto: r.merged}
		if r.merged == 0 {
			x.dbID[x.miner.Restore(r.text, 0, r.sample)] = r.id
		}
	}
	return x, nil
}

func fieldValue(fs []logs.Field, name string) string {
	for _, f := range fs {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// Observe hands stored records to the miner. It never blocks: when the
// miner falls behind, the batch is counted in Dropped instead.
func (x *Index) Observe(records []logs.Record) {
	if len(records) == 0 {
		return
	}
	batch := make([]entry, 0, len(records))
	for _, r := range records {
		var e entry
		for _, f := range r.Fields {
			switch f.Name {
			case "_msg":
				e.msg = f.Value
			case "namespace":
				e.stream.namespace = f.Value
			case "pod":
				e.stream.pod = f.Value
			case "container":
				e.stream.container = f.Value
			case "node":
				e.stream.node = f.Value
			case "file":
				e.stream.file = f.Value
			}
		}
		if e.stream.container != "" {
			// A container's log file path adds nothing to its stream.
			e.stream.file = ""
		}
		e.t = r.Time.UnixNano()
		batch = append(batch, e)
	}
	select {
	case x.queue <- batch:
	default:
		x.Dropped.Add(int64(len(batch)))
	}
}

// Run mines queued batches and flushes counts until ctx ends, then drains
// what is queued and flushes a last time.
func (x *Index) Run(ctx context.Context) {
	tick := time.NewTicker(x.opts.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case b := <-x.queue:
			x.mine(b)
		case <-tick.C:
			if err := x.Flush(ctx); err != nil {
				x.log.Warn("flush pattern counts", "err", err)
			}
		case <-ctx.Done():
			for {
				select {
				case b := <-x.queue:
					x.mine(b)
					continue
				default:
				}
				break
			}
			if err := x.Flush(context.Background()); err != nil {
				x.log.Warn("flush pattern counts", "err", err)
			}
			return
		}
	}
}

func (x *Index) mine(batch []entry) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, e := range batch {
		id := x.miner.Add(e.msg)
		k := countKey{bucket: e.t / int64(Bucket) * int64(Bucket), stream: e.stream, id: id}
		a := x.pending[k]
		if a == nil {
			a = &agg{first: e.t, last: e.t}
			x.pending[k] = a
			if _, ok := x.dbID[id]; !ok {
				x.changed[id] = true
			}
		}
		a.count++
		a.first = min(a.first, e.t)
		a.last = max(a.last, e.t)
	}
	x.Mined.Add(int64(len(batch)))
}

// Drain mines everything queued now (tests, queries that must see the latest lines).
func (x *Index) Drain() {
	for {
		select {
		case b := <-x.queue:
			x.mine(b)
		default:
			return
		}
	}
}

type templateWrite struct {
	minerID      patterns.ID
	dbID         int64
	text, sample string
}

// Flush writes pending counts, new and widened templates and merges.
func (x *Index) Flush(ctx context.Context) error {
	x.flushMu.Lock()
	defer x.flushMu.Unlock()
	// Take a snapshot under the lock; SQLite work happens outside it.
	x.mu.Lock()
	pending := x.pending
	merges := x.merges
	changed := x.changed
	x.pending = map[countKey]*agg{}
	x.merges = nil
	x.changed = map[patterns.ID]bool{}
	var writes []templateWrite
	for id := range changed {
		id = x.miner.Resolve(id)
		t := x.miner.Template(id)
		writes = append(writes, templateWrite{minerID: id, dbID: x.dbID[id], text: t.Text(), sample: t.Sample})
	}
	type mergeWrite struct{ from, to patterns.ID }
	var mws []mergeWrite
	for _, m := range merges {
		mws = append(mws, mergeWrite{m[0], x.miner.Resolve(m[1])})
	}
	counts := make(map[countKey]*agg, len(pending))
	for k, a := range pending {
		k.id = x.miner.Resolve(k.id)
		if c := counts[k]; c != nil {
			c.count += a.count
			c.first = min(c.first, a.first)
			c.last = max(c.last, a.last)
		} else {
			counts[k] = a
		}
	}
	x.mu.Unlock()
	if len(writes) == 0 && len(counts) == 0 && len(mws) == 0 {
		return x.cleanup(ctx)
	}

	err := x.write(ctx, writes, counts, func(tx *sql.Tx, ids map[patterns.ID]int64) error {
		for _, m := range mws {
			from, ok := ids[m.from]
			if !ok {
				continue // merged before it was ever stored
			}
			to, ok := ids[m.to]
			if !ok || from == to {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE patterns_templates SET merged_into = ? WHERE id = ?`, to, from); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// Put the counts back so they are written next time.
		x.mu.Lock()
		for k, a := range counts {
			if c := x.pending[k]; c != nil {
				c.count += a.count
				c.first, c.last = min(c.first, a.first), max(c.last, a.last)
			} else {
				x.pending[k] = a
			}
		}
		for _, w := range writes {
			x.changed[w.minerID] = true
		}
		for _, m := range mws {
			x.merges = append(x.merges, [2]patterns.ID{m.from, m.to})
		}
		x.mu.Unlock()
		return err
	}
	return x.cleanup(ctx)
}

func (x *Index) write(ctx context.Context, writes []templateWrite, counts map[countKey]*agg, more func(*sql.Tx, map[patterns.ID]int64) error) error {
	x.mu.Lock()
	ids := make(map[patterns.ID]int64, len(x.dbID))
	for k, v := range x.dbID {
		ids[k] = v
	}
	x.mu.Unlock()
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	now := time.Now().Unix()
	newIDs := map[patterns.ID]int64{}
	for _, w := range writes {
		if id, ok := ids[w.minerID]; ok {
			if _, err := tx.ExecContext(ctx, `UPDATE patterns_templates SET template = ? WHERE id = ?`, w.text, id); err != nil {
				return fmt.Errorf("update template: %w", err)
			}
			continue
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO patterns_templates(template, sample, created_at) VALUES(?, ?, ?)`, w.text, w.sample, now)
		if err != nil {
			return fmt.Errorf("insert template: %w", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		ids[w.minerID] = id
		newIDs[w.minerID] = id
	}
	// Every count goes to its minute and to its hour (the rollup for long
	// windows). Hours are summed here first, and rows go in multi-row
	// statements: a backlog spanning hours makes thousands of rows per flush.
	minute := make([]countRow, 0, len(counts))
	hourIdx := map[countKey]int{}
	var hour []countRow
	for k, a := range counts {
		id, ok := ids[k.id]
		if !ok {
			return fmt.Errorf("pattern %d has counts but no stored template", k.id)
		}
		minute = append(minute, countRow{k.bucket, k.stream, id, a.count, a.first, a.last})
		hk := k
		hk.bucket = k.bucket / int64(Hour) * int64(Hour)
		if i, ok := hourIdx[hk]; ok {
			h := &hour[i]
			h.count += a.count
			h.first, h.last = min(h.first, a.first), max(h.last, a.last)
		} else {
			hourIdx[hk] = len(hour)
			hour = append(hour, countRow{hk.bucket, k.stream, id, a.count, a.first, a.last})
		}
	}
	if err := upsertCounts(ctx, tx, "patterns_counts", minute); err != nil {
		return fmt.Errorf("write counts: %w", err)
	}
	if err := upsertCounts(ctx, tx, "patterns_counts_hourly", hour); err != nil {
		return fmt.Errorf("write hourly counts: %w", err)
	}
	if err := more(tx, ids); err != nil {
		return fmt.Errorf("record merges: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	x.mu.Lock()
	for k, v := range newIDs {
		x.dbID[k] = v
	}
	x.mu.Unlock()
	// Mirror what was written for queries.
	x.infoMu.Lock()
	for _, w := range writes {
		id := ids[w.minerID]
		if ti := x.info[id]; ti != nil {
			ti.text = w.text
		} else {
			x.info[id] = &templateInfo{text: w.text, sample: w.sample}
		}
	}
	x.infoMu.Unlock()
	return nil
}

type countRow struct {
	bucket      int64
	stream      stream
	id          int64
	count       int64
	first, last int64
}

// countsPerStatement rows of 10 values each stay well under SQLite's limit
// on bound parameters.
const countsPerStatement = 200

func upsertCounts(ctx context.Context, tx *sql.Tx, table string, rows []countRow) error {
	stmts := map[int]*sql.Stmt{}
	defer func() {
		for _, st := range stmts {
			st.Close()
		}
	}()
	args := make([]any, 0, 10*countsPerStatement)
	for len(rows) > 0 {
		n := min(len(rows), countsPerStatement)
		st := stmts[n]
		if st == nil {
			var b strings.Builder
			b.WriteString("INSERT INTO " + table + "(bucket, namespace, pod, container, node, file, id, count, first, last) VALUES ")
			for i := range n {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			}
			b.WriteString(` ON CONFLICT(bucket, namespace, pod, container, node, file, id) DO UPDATE SET
				count = count + excluded.count, first = min(first, excluded.first), last = max(last, excluded.last)`)
			var err error
			if st, err = tx.PrepareContext(ctx, b.String()); err != nil {
				return fmt.Errorf("prepare: %w", err)
			}
			stmts[n] = st
		}
		args = args[:0]
		for _, r := range rows[:n] {
			s := r.stream
			args = append(args, r.bucket, s.namespace, s.pod, s.container, s.node, s.file, r.id, r.count, r.first, r.last)
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// recordMerges mirrors merged_into for queries after a flush has stored it.
func (x *Index) refreshMerges(ctx context.Context) error {
	rows, err := x.db.QueryContext(ctx, `SELECT id, merged_into FROM patterns_templates WHERE merged_into != 0`)
	if err != nil {
		return err
	}
	var pairs [][2]int64
	for rows.Next() {
		var p [2]int64
		if err := rows.Scan(&p[0], &p[1]); err != nil {
			rows.Close()
			return err
		}
		pairs = append(pairs, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	x.infoMu.Lock()
	for _, p := range pairs {
		if ti := x.info[p[0]]; ti != nil {
			ti.mergedInto = p[1]
		}
	}
	x.infoMu.Unlock()
	return nil
}

func (x *Index) cleanup(ctx context.Context) error {
	if err := x.refreshMerges(ctx); err != nil {
		return fmt.Errorf("load merges: %w", err)
	}
	if time.Since(x.lastCleanup) < time.Hour {
		return nil
	}
	x.lastCleanup = time.Now()
	cutoff := time.Now().Add(-x.opts.Retention).UnixNano()
	for _, table := range []string{"patterns_counts", "patterns_counts_hourly"} {
		if _, err := x.db.ExecContext(ctx, `DELETE FROM `+table+` WHERE bucket < ?`, cutoff); err != nil {
			return fmt.Errorf("expire pattern counts: %w", err)
		}
	}
	return nil
}

// resolve follows stored merges to the surviving template.
func (x *Index) resolve(id int64) (int64, *templateInfo) {
	x.infoMu.RLock()
	defer x.infoMu.RUnlock()
	for range 1000 {
		ti := x.info[id]
		if ti == nil {
			return id, nil
		}
		if ti.mergedInto == 0 || ti.mergedInto == id {
			return id, ti
		}
		id = ti.mergedInto
	}
	return id, x.info[id]
}

// Stats reports the index's size for diagnostics.
func (x *Index) Stats() string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return strings.TrimSpace(fmt.Sprintf("%d templates, %d mined, %d dropped", x.miner.Len(), x.Mined.Load(), x.Dropped.Load()))
}
