// Package posture runs the compliance controls in the server: against the
// cluster's objects (from informers) and the node reports agents send. It
// keeps runs, node reports and exceptions in vigil's own SQLite database —
// never in the cluster's etcd.
package posture

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"k8s.io/client-go/informers"

	"vigil/internal/events"
	"vigil/internal/security/compliance"
	"vigil/internal/store/sqlutil"
)

// Options configure Open.
type Options struct {
	DB *sql.DB
	// Factory is the server's shared informer factory; nil without a cluster
	// (node reports are still evaluated).
	Factory informers.SharedInformerFactory
	// PoliciesDir holds custom Rego controls (optional).
	PoliciesDir string
	// Interval between evaluations (default 5 min); changes trigger none, so
	// POST /api/compliance/scan evaluates at once.
	Interval time.Duration
	Events   *events.Store
	Log      *slog.Logger
	// KeepRuns is how many runs are kept (default 50).
	KeepRuns int
}

// Run is one evaluation.
type Run struct {
	ID       int64                       `json:"id"`
	Time     time.Time                   `json:"time"`
	Duration time.Duration               `json:"durationNs"`
	Scores   []compliance.FrameworkScore `json:"scores"`
	Result   *compliance.Result          `json:"-"`
}

// Service evaluates, stores and serves compliance results.
type Service struct {
	opt     Options
	Engine  *compliance.Engine
	inf     *compliance.Informers
	log     *slog.Logger
	trigger chan struct{}

	evalMu sync.Mutex // one evaluation at a time
	mu     sync.Mutex
	latest *Run
}

const schema = `
CREATE TABLE IF NOT EXISTS compliance_runs (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	time INTEGER NOT NULL,
	duration_ns INTEGER NOT NULL,
	scores TEXT NOT NULL,
	result TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS compliance_exceptions (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	control TEXT NOT NULL,
	namespace TEXT NOT NULL DEFAULT '',
	kind TEXT NOT NULL DEFAULT '',
	name TEXT NOT NULL DEFAULT '',
	reason TEXT NOT NULL,
	owner TEXT NOT NULL,
	expires INTEGER NOT NULL,
	created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS compliance_nodes (
	node TEXT PRIMARY KEY,
	time INTEGER NOT NULL,
	report TEXT NOT NULL
);`

// Open loads the controls, creates the tables and registers informers.
func Open(ctx context.Context, opt Options) (*Service, error) {
	if opt.Interval <= 0 {
		opt.Interval = 5 * time.Minute
	}
	if opt.KeepRuns <= 0 {
		opt.KeepRuns = 50
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	eng, err := compliance.Load(ctx, opt.PoliciesDir)
	if err != nil {
		return nil, err
	}
	if _, err := opt.DB.ExecContext(ctx, schema); err != nil {
		return nil, fmt.Errorf("compliance tables: %w", err)
	}
	s := &Service{opt: opt, Engine: eng, log: opt.Log, trigger: make(chan struct{}, 1)}
	if opt.Factory != nil {
		s.inf = compliance.NewInformers(opt.Factory)
	}
	if err := s.loadLatest(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Service) loadLatest(ctx context.Context) error {
	var r Run
	var ts int64
	var dur int64
	var scores, result string
	err := s.opt.DB.QueryRowContext(ctx, `SELECT id, time, duration_ns, scores, result FROM compliance_runs ORDER BY id DESC LIMIT 1`).
		Scan(&r.ID, &ts, &dur, &scores, &result)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load last compliance run: %w", err)
	}
	r.Time, r.Duration = time.UnixMilli(ts), time.Duration(dur)
	r.Result = &compliance.Result{}
	if err := json.Unmarshal([]byte(scores), &r.Scores); err != nil {
		return fmt.Errorf("load last compliance run: %w", err)
	}
	if err := json.Unmarshal([]byte(result), r.Result); err != nil {
		return fmt.Errorf("load last compliance run: %w", err)
	}
	s.latest = &r
	return nil
}

// Latest returns the last run, or nil before the first.
func (s *Service) Latest() *Run {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latest
}

// Trigger asks Run to evaluate soon.
func (s *Service) Trigger() {
	select {
	case s.trigger <- struct{}{}:
	default:
	}
}

// Run evaluates every Interval (and when triggered) until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	if s.inf != nil {
		for !s.inf.Synced() {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.trigger:
		}
		if _, err := s.Evaluate(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("compliance evaluation", "err", err)
		}
		t.Reset(s.opt.Interval)
	}
}

// Evaluate runs every control now and stores the run.
func (s *Service) Evaluate(ctx context.Context) (*Run, error) {
	s.evalMu.Lock()
	defer s.evalMu.Unlock()
	start := time.Now()
	var objs []compliance.Object
	if s.inf != nil {
		if !s.inf.Synced() {
			return nil, errors.New("the cluster inventory is still syncing")
		}
		ms, err := s.inf.Manifests()
		if err != nil {
			return nil, err
		}
		if objs, err = compliance.KubeObjects(ms); err != nil {
			return nil, err
		}
	}
	nodes, err := s.nodeObjects(ctx)
	if err != nil {
		return nil, err
	}
	objs = append(objs, nodes...)
	excs, err := s.Exceptions(ctx)
	if err != nil {
		return nil, err
	}
	res, err := s.Engine.Evaluate(ctx, objs, compliance.Options{Exceptions: excs, Now: start})
	if err != nil {
		return nil, err
	}
	run := &Run{Time: start, Duration: time.Since(start), Scores: s.Engine.Scores(res), Result: res}
	if err := s.store(ctx, run); err != nil {
		return nil, err
	}
	prev := s.Latest()
	s.mu.Lock()
	s.latest = run
	s.mu.Unlock()
	s.recordChanges(ctx, prev, run)
	s.log.Debug("compliance evaluated", "objects", len(objs), "findings", len(res.Findings), "dur", run.Duration)
	return run, nil
}

func (s *Service) store(ctx context.Context, run *Run) error {
	scores, err := json.Marshal(run.Scores)
	if err != nil {
		return err
	}
	result, err := json.Marshal(run.Result)
	if err != nil {
		return err
	}
	r, err := s.opt.DB.ExecContext(ctx, `INSERT INTO compliance_runs (time, duration_ns, scores, result) VALUES (?, ?, ?, ?)`,
		run.Time.UnixMilli(), int64(run.Duration), string(scores), string(result))
	if err != nil {
		return fmt.Errorf("store compliance run: %w", err)
	}
	if run.ID, err = r.LastInsertId(); err != nil {
		return err
	}
	if _, err := s.opt.DB.ExecContext(ctx, `DELETE FROM compliance_runs WHERE id <= ?`, run.ID-int64(s.opt.KeepRuns)); err != nil {
		return fmt.Errorf("prune compliance runs: %w", err)
	}
	return nil
}

// recordChanges puts newly failing and fixed checks into the event stream.
func (s *Service) recordChanges(ctx context.Context, prev, cur *Run) {
	if s.opt.Events == nil || prev == nil || prev.Result == nil {
		return
	}
	newF, fixed := Diff(prev.Result.Findings, cur.Result.Findings)
	var evs []events.Event
	for _, f := range newF {
		if compliance.SeverityRank(f.Severity) < compliance.SeverityRank(compliance.High) || len(evs) >= 50 {
			continue
		}
		evs = append(evs, events.Event{Time: cur.Time, Type: events.Warning, Source: "vigil/security", Reason: "ComplianceFailed",
			Message:   fmt.Sprintf("%s (%s): %s", f.ControlID, f.Severity, f.Message),
			Namespace: f.Namespace, Kind: f.Kind, Name: f.Name, Tags: map[string]string{"control": f.ControlID, "severity": f.Severity}})
	}
	if len(fixed) > 0 {
		evs = append(evs, events.Event{Time: cur.Time, Type: events.Normal, Source: "vigil/security", Reason: "ComplianceFixed",
			Message: fmt.Sprintf("%d failed checks are fixed", len(fixed))})
	}
	if len(evs) == 0 {
		return
	}
	if err := s.opt.Events.Record(ctx, evs...); err != nil {
		s.log.Warn("record compliance events", "err", err)
	}
}

// Diff returns the failed findings of cur that prev did not have, and those of prev gone from cur.
func Diff(prev, cur []compliance.Finding) (added, fixed []compliance.Finding) {
	failing := func(fs []compliance.Finding) map[string]compliance.Finding {
		m := map[string]compliance.Finding{}
		for _, f := range fs {
			if f.Status == "fail" && f.Exception == nil {
				m[f.Key()] = f
			}
		}
		return m
	}
	p, c := failing(prev), failing(cur)
	for k, f := range c {
		if _, ok := p[k]; !ok {
			added = append(added, f)
		}
	}
	for k, f := range p {
		if _, ok := c[k]; !ok {
			fixed = append(fixed, f)
		}
	}
	order := func(fs []compliance.Finding) {
		sort.Slice(fs, func(i, j int) bool {
			if a, b := compliance.SeverityRank(fs[i].Severity), compliance.SeverityRank(fs[j].Severity); a != b {
				return a > b
			}
			return fs[i].Key() < fs[j].Key()
		})
	}
	order(added)
	order(fixed)
	return added, fixed
}

// Exceptions lists the stored exceptions, expired ones included.
func (s *Service) Exceptions(ctx context.Context) ([]compliance.Exception, error) {
	rows, err := s.opt.DB.QueryContext(ctx, `SELECT id, control, namespace, kind, name, reason, owner, expires, created FROM compliance_exceptions ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list exceptions: %w", err)
	}
	defer rows.Close()
	var out []compliance.Exception
	for rows.Next() {
		var x compliance.Exception
		var exp, created int64
		if err := rows.Scan(&x.ID, &x.Control, &x.Namespace, &x.Kind, &x.Name, &x.Reason, &x.Owner, &exp, &created); err != nil {
			return nil, err
		}
		x.Expires, x.Created = time.UnixMilli(exp).UTC(), time.UnixMilli(created).UTC()
		out = append(out, x)
	}
	return out, rows.Err()
}

// AddException validates and stores an exception.
func (s *Service) AddException(ctx context.Context, x compliance.Exception) (compliance.Exception, error) {
	now := time.Now()
	if err := x.Validate(s.Engine, now); err != nil {
		return x, err
	}
	x.Created = now.UTC()
	var err error
	x.ID, err = sqlutil.Insert(ctx, s.opt.DB, "exception", `INSERT INTO compliance_exceptions (control, namespace, kind, name, reason, owner, expires, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		x.Control, x.Namespace, x.Kind, x.Name, x.Reason, x.Owner, x.Expires.UnixMilli(), now.UnixMilli())
	return x, err
}

// DeleteException removes one; false when it did not exist.
func (s *Service) DeleteException(ctx context.Context, id int64) (bool, error) {
	return sqlutil.Delete(ctx, s.opt.DB, "exception", `DELETE FROM compliance_exceptions WHERE id = ?`, id)
}

// maxNodeAge drops node reports of nodes that stopped reporting.
const maxNodeAge = 24 * time.Hour

// StoreNode keeps a node's latest report.
func (s *Service) StoreNode(ctx context.Context, n compliance.NodeInput) error {
	if _, err := compliance.NodeObject(n); err != nil {
		return err
	}
	b, err := json.Marshal(n)
	if err != nil {
		return err
	}
	_, err = s.opt.DB.ExecContext(ctx, `INSERT INTO compliance_nodes (node, time, report) VALUES (?, ?, ?)
		ON CONFLICT(node) DO UPDATE SET time = excluded.time, report = excluded.report`, n.Node, time.Now().UnixMilli(), string(b))
	if err != nil {
		return fmt.Errorf("store node report: %w", err)
	}
	return nil
}

func (s *Service) nodeObjects(ctx context.Context) ([]compliance.Object, error) {
	rows, err := s.opt.DB.QueryContext(ctx, `SELECT report FROM compliance_nodes WHERE time >= ?`, time.Now().Add(-maxNodeAge).UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("list node reports: %w", err)
	}
	reports, err := sqlutil.Strings(rows)
	if err != nil {
		return nil, err
	}
	var out []compliance.Object
	for _, r := range reports {
		var n compliance.NodeInput
		if err := json.Unmarshal([]byte(r), &n); err != nil {
			return nil, fmt.Errorf("stored node report: %w", err)
		}
		o, err := compliance.NodeObject(n)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}
