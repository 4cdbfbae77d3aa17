package monitor

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ErrNotFound is returned for an unknown monitor, incident or notification.
var ErrNotFound = errors.New("not found")

// Store keeps monitors, their series states, incidents and the notification
// outbox in SQLite tables prefixed monitor_.
type Store struct{ db *sql.DB }

// OpenStore creates the tables when missing.
func OpenStore(ctx context.Context, db *sql.DB) (*Store, error) {
	const schema = `
CREATE TABLE IF NOT EXISTS monitor_monitors (
	id TEXT PRIMARY KEY, def TEXT NOT NULL, updated INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS monitor_states (
	monitor_id TEXT NOT NULL, key TEXT NOT NULL, state TEXT NOT NULL,
	PRIMARY KEY (monitor_id, key));
CREATE TABLE IF NOT EXISTS monitor_incidents (
	id INTEGER PRIMARY KEY AUTOINCREMENT, monitor_id TEXT NOT NULL, monitor_name TEXT NOT NULL,
	key TEXT NOT NULL, labels TEXT NOT NULL, severity TEXT NOT NULL,
	started INTEGER NOT NULL, ended INTEGER, peak REAL, last REAL, message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS monitor_incidents_by_monitor ON monitor_incidents (monitor_id, started);
CREATE INDEX IF NOT EXISTS monitor_incidents_open ON monitor_incidents (ended);
CREATE TABLE IF NOT EXISTS monitor_notifications (
	id INTEGER PRIMARY KEY AUTOINCREMENT, incident_id INTEGER NOT NULL, monitor_id TEXT NOT NULL,
	event TEXT NOT NULL, channel TEXT NOT NULL, target TEXT NOT NULL, status TEXT NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL,
	next_at INTEGER NOT NULL, sent INTEGER, payload BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS monitor_notifications_due ON monitor_notifications (status, next_at);
CREATE INDEX IF NOT EXISTS monitor_notifications_by_monitor ON monitor_notifications (monitor_id, id);
`
	if _, err := db.ExecContext(ctx, schema); err != nil {
		return nil, fmt.Errorf("create monitor tables: %w", err)
	}
	return &Store{db: db}, nil
}

// Monitors returns every monitor definition.
func (s *Store) Monitors(ctx context.Context) ([]*Monitor, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT def FROM monitor_monitors ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list monitors: %w", err)
	}
	defer rows.Close()
	var out []*Monitor
	for rows.Next() {
		var def string
		if err := rows.Scan(&def); err != nil {
			return nil, err
		}
		m := &Monitor{}
		if err := json.Unmarshal([]byte(def), m); err != nil {
			return nil, fmt.Errorf("decode stored monitor: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// PutMonitor inserts or replaces a definition.
func (s *Store) PutMonitor(ctx context.Context, m *Monitor) error {
	def, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO monitor_monitors (id, def, updated) VALUES (?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET def = excluded.def, updated = excluded.updated`, m.ID, string(def), m.Updated.UnixMilli())
	if err != nil {
		return fmt.Errorf("store monitor %s: %w", m.ID, err)
	}
	return nil
}

// DeleteMonitor removes a definition and its series states (incidents stay as history).
func (s *Store) DeleteMonitor(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM monitor_monitors WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete monitor %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	_, err = s.db.ExecContext(ctx, `DELETE FROM monitor_states WHERE monitor_id = ?`, id)
	return err
}

// States loads the persisted series states of a monitor.
func (s *Store) States(ctx context.Context, monitorID string) (map[string]*SeriesState, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key, state FROM monitor_states WHERE monitor_id = ?`, monitorID)
	if err != nil {
		return nil, fmt.Errorf("load states: %w", err)
	}
	defer rows.Close()
	out := map[string]*SeriesState{}
	for rows.Next() {
		var k, st string
		if err := rows.Scan(&k, &st); err != nil {
			return nil, err
		}
		ss := &SeriesState{}
		if err := json.Unmarshal([]byte(st), ss); err != nil {
			return nil, fmt.Errorf("decode state: %w", err)
		}
		out[k] = ss
	}
	return out, rows.Err()
}

// SaveStates writes changed series states and deletes removed ones.
func (s *Store) SaveStates(ctx context.Context, monitorID string, changed map[string]*SeriesState, removed []string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save states: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after commit it is a no-op
	for k, st := range changed {
		b, _ := json.Marshal(st)
		if _, err := tx.ExecContext(ctx, `INSERT INTO monitor_states (monitor_id, key, state) VALUES (?, ?, ?)
			ON CONFLICT(monitor_id, key) DO UPDATE SET state = excluded.state`, monitorID, k, string(b)); err != nil {
			return fmt.Errorf("save state: %w", err)
		}
	}
	for _, k := range removed {
		if _, err := tx.ExecContext(ctx, `DELETE FROM monitor_states WHERE monitor_id = ? AND key = ?`, monitorID, k); err != nil {
			return fmt.Errorf("delete state: %w", err)
		}
	}
	return tx.Commit()
}

// Incident is one alerting episode of one series of a monitor.
type Incident struct {
	ID          int64             `json:"id"`
	MonitorID   string            `json:"monitor_id"`
	MonitorName string            `json:"monitor_name"`
	Key         string            `json:"key"`
	Labels      map[string]string `json:"labels"`
	Severity    string            `json:"severity"`
	Started     time.Time         `json:"started"`
	Ended       *time.Time        `json:"ended,omitempty"`
	Peak        float64           `json:"peak"`
	Last        float64           `json:"last"`
	Message     string            `json:"message"`
}

func (s *Store) openIncident(ctx context.Context, in *Incident) error {
	lb, _ := json.Marshal(in.Labels)
	res, err := s.db.ExecContext(ctx, `INSERT INTO monitor_incidents (monitor_id, monitor_name, key, labels, severity, started, peak, last, message)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, in.MonitorID, in.MonitorName, in.Key, string(lb), in.Severity, in.Started.UnixMilli(), fin(in.Peak), fin(in.Last), in.Message)
	if err != nil {
		return fmt.Errorf("open incident: %w", err)
	}
	in.ID, err = res.LastInsertId()
	return err
}

func (s *Store) updateIncident(ctx context.Context, id int64, severity string, peak, last float64, message string, ended *time.Time) error {
	var end any
	if ended != nil {
		end = ended.UnixMilli()
	}
	_, err := s.db.ExecContext(ctx, `UPDATE monitor_incidents SET severity = ?, peak = ?, last = ?, message = ?, ended = COALESCE(?, ended) WHERE id = ?`,
		severity, fin(peak), fin(last), message, end, id)
	if err != nil {
		return fmt.Errorf("update incident %d: %w", id, err)
	}
	return nil
}

// fin stores NaN (no data) as NULL.
func fin(v float64) any {
	if v != v {
		return nil
	}
	return v
}

// IncidentFilter selects incidents.
type IncidentFilter struct {
	MonitorID string
	Open      bool
	Limit     int
}

// Incidents lists incidents, newest first.
func (s *Store) Incidents(ctx context.Context, f IncidentFilter) ([]Incident, error) {
	q := `SELECT id, monitor_id, monitor_name, key, labels, severity, started, ended, peak, last, message FROM monitor_incidents WHERE 1=1`
	var args []any
	if f.MonitorID != "" {
		q += ` AND monitor_id = ?`
		args = append(args, f.MonitorID)
	}
	if f.Open {
		q += ` AND ended IS NULL`
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 200
	}
	q += ` ORDER BY started DESC, id DESC LIMIT ?`
	args = append(args, f.Limit)
	return s.scanIncidents(ctx, q, args...)
}

// Incident returns one incident.
func (s *Store) Incident(ctx context.Context, id int64) (Incident, error) {
	ins, err := s.scanIncidents(ctx, `SELECT id, monitor_id, monitor_name, key, labels, severity, started, ended, peak, last, message FROM monitor_incidents WHERE id = ?`, id)
	if err != nil {
		return Incident{}, err
	}
	if len(ins) == 0 {
		return Incident{}, ErrNotFound
	}
	return ins[0], nil
}

func (s *Store) scanIncidents(ctx context.Context, q string, args ...any) ([]Incident, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	defer rows.Close()
	out := []Incident{}
	for rows.Next() {
		var in Incident
		var lb string
		var started int64
		var ended sql.NullInt64
		var peak, last sql.NullFloat64
		if err := rows.Scan(&in.ID, &in.MonitorID, &in.MonitorName, &in.Key, &lb, &in.Severity, &started, &ended, &peak, &last, &in.Message); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(lb), &in.Labels)
		in.Started = time.UnixMilli(started).UTC()
		if ended.Valid {
			t := time.UnixMilli(ended.Int64).UTC()
			in.Ended = &t
		}
		in.Peak, in.Last = peak.Float64, last.Float64
		out = append(out, in)
	}
	return out, rows.Err()
}

// Notification is one delivery to one target, with its retry state.
type Notification struct {
	ID         int64      `json:"id"`
	IncidentID int64      `json:"incident_id"`
	MonitorID  string     `json:"monitor_id"`
	Event      string     `json:"event"`   // alert, escalate, renotify, resolve
	Channel    string     `json:"channel"` // email, webhook, slack
	Target     string     `json:"target"`
	Status     string     `json:"status"` // pending, sent, failed, suppressed
	Attempts   int        `json:"attempts"`
	Error      string     `json:"error,omitempty"`
	Created    time.Time  `json:"created"`
	NextAt     time.Time  `json:"next_at"`
	Sent       *time.Time `json:"sent,omitempty"`
	payload    []byte
}

func (s *Store) enqueue(ctx context.Context, n *Notification) error {
	res, err := s.db.ExecContext(ctx, `INSERT INTO monitor_notifications (incident_id, monitor_id, event, channel, target, status, error, created, next_at, payload)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, n.IncidentID, n.MonitorID, n.Event, n.Channel, n.Target, n.Status, n.Error,
		n.Created.UnixMilli(), n.NextAt.UnixMilli(), n.payload)
	if err != nil {
		return fmt.Errorf("queue notification: %w", err)
	}
	n.ID, err = res.LastInsertId()
	return err
}

const notifCols = `id, incident_id, monitor_id, event, channel, target, status, attempts, error, created, next_at, sent`

func scanNotification(sc interface{ Scan(...any) error }, withPayload bool) (Notification, error) {
	var n Notification
	var created, next int64
	var sent sql.NullInt64
	dst := []any{&n.ID, &n.IncidentID, &n.MonitorID, &n.Event, &n.Channel, &n.Target, &n.Status, &n.Attempts, &n.Error, &created, &next, &sent}
	if withPayload {
		dst = append(dst, &n.payload)
	}
	if err := sc.Scan(dst...); err != nil {
		return n, err
	}
	n.Created, n.NextAt = time.UnixMilli(created).UTC(), time.UnixMilli(next).UTC()
	if sent.Valid {
		t := time.UnixMilli(sent.Int64).UTC()
		n.Sent = &t
	}
	return n, nil
}

// due returns pending notifications whose time has come.
func (s *Store) due(ctx context.Context, now time.Time, limit int) ([]Notification, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+notifCols+`, payload FROM monitor_notifications
		WHERE status = 'pending' AND next_at <= ? ORDER BY next_at LIMIT ?`, now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("due notifications: %w", err)
	}
	defer rows.Close()
	var out []Notification
	for rows.Next() {
		n, err := scanNotification(rows, true)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

func (s *Store) markNotification(ctx context.Context, n *Notification) error {
	var sent any
	if n.Sent != nil {
		sent = n.Sent.UnixMilli()
	}
	_, err := s.db.ExecContext(ctx, `UPDATE monitor_notifications SET status = ?, attempts = ?, error = ?, next_at = ?, sent = ? WHERE id = ?`,
		n.Status, n.Attempts, n.Error, n.NextAt.UnixMilli(), sent, n.ID)
	if err != nil {
		return fmt.Errorf("update notification %d: %w", n.ID, err)
	}
	return nil
}

// Notifications lists the notification log, newest first.
func (s *Store) Notifications(ctx context.Context, monitorID string, incidentID int64, limit int) ([]Notification, error) {
	q := `SELECT ` + notifCols + ` FROM monitor_notifications WHERE 1=1`
	var args []any
	if monitorID != "" {
		q += ` AND monitor_id = ?`
		args = append(args, monitorID)
	}
	if incidentID > 0 {
		q += ` AND incident_id = ?`
		args = append(args, incidentID)
	}
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	defer rows.Close()
	out := []Notification{}
	for rows.Next() {
		n, err := scanNotification(rows, false)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// Retry puts a failed notification back in the queue.
func (s *Store) Retry(ctx context.Context, id int64, now time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE monitor_notifications SET status = 'pending', next_at = ? WHERE id = ? AND status = 'failed'`, now.UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("retry notification %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}
