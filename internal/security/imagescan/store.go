package imagescan

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"vigil/internal/security/inventory"
	"vigil/internal/security/vuln"
)

// Tables live in vigil's own SQLite database, never in the cluster: one row
// per image digest (with its inventory and the latest report, gzipped JSON),
// the containers running each digest (replaced on every pod listing), and one
// row per finding for the aggregate queries.
const schema = `
CREATE TABLE IF NOT EXISTS vuln_images (
	digest      TEXT PRIMARY KEY,
	ref         TEXT NOT NULL,
	status      TEXT NOT NULL,           -- pending, scanning, done, error
	error       TEXT NOT NULL DEFAULT '',
	os          TEXT NOT NULL DEFAULT '',
	packages    INTEGER NOT NULL DEFAULT 0,
	critical    INTEGER NOT NULL DEFAULT 0,
	high        INTEGER NOT NULL DEFAULT 0,
	medium      INTEGER NOT NULL DEFAULT 0,
	low         INTEGER NOT NULL DEFAULT 0,
	unknown     INTEGER NOT NULL DEFAULT 0,
	fixable     INTEGER NOT NULL DEFAULT 0,
	scanned_at  INTEGER NOT NULL DEFAULT 0, -- unix ms of the last match
	db_updated  INTEGER NOT NULL DEFAULT 0, -- unix ms: database version it was matched against
	inventory   BLOB,
	report      BLOB
);
CREATE TABLE IF NOT EXISTS vuln_containers (
	namespace TEXT NOT NULL,
	pod       TEXT NOT NULL,
	container TEXT NOT NULL,
	kind      TEXT NOT NULL,
	workload  TEXT NOT NULL,
	node      TEXT NOT NULL DEFAULT '',
	image     TEXT NOT NULL,
	digest    TEXT NOT NULL,
	PRIMARY KEY (namespace, pod, container)
);
CREATE INDEX IF NOT EXISTS vuln_containers_digest ON vuln_containers(digest);
CREATE TABLE IF NOT EXISTS vuln_findings (
	digest   TEXT NOT NULL,
	id       TEXT NOT NULL,
	package  TEXT NOT NULL,
	version  TEXT NOT NULL,
	fixed    TEXT NOT NULL,
	severity TEXT NOT NULL,
	score    REAL NOT NULL,
	summary  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS vuln_findings_digest ON vuln_findings(digest);
CREATE INDEX IF NOT EXISTS vuln_findings_id ON vuln_findings(id);
`

func migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("create vulnerability tables: %w", err)
	}
	return nil
}

func gz(v any) ([]byte, error) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if err := json.NewEncoder(zw).Encode(v); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func gunzip(data []byte, v any) error {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return json.NewDecoder(io.LimitReader(zr, 512<<20)).Decode(v)
}

// container is one running container and the image digest it runs.
type container struct {
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`
	Container string `json:"container"`
	Kind      string `json:"kind"`
	Workload  string `json:"workload"`
	Node      string `json:"node,omitempty"`
	Image     string `json:"image"`
	Digest    string `json:"digest"`
}

// replaceContainers stores the current listing and adds unseen digests as pending images.
func replaceContainers(ctx context.Context, db *sql.DB, cs []container, refs map[string]string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM vuln_containers`); err != nil {
		return err
	}
	for _, c := range cs {
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO vuln_containers(namespace,pod,container,kind,workload,node,image,digest) VALUES(?,?,?,?,?,?,?,?)`,
			c.Namespace, c.Pod, c.Container, c.Kind, c.Workload, c.Node, c.Image, c.Digest); err != nil {
			return err
		}
	}
	for d, ref := range refs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO vuln_images(digest, ref, status) VALUES(?,?,'pending') ON CONFLICT(digest) DO NOTHING`, d, ref); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func setStatus(ctx context.Context, db *sql.DB, digest, status, msg string) error {
	if status == "error" {
		// scanned_at doubles as the time of the failed attempt, for retries.
		_, err := db.ExecContext(ctx, `UPDATE vuln_images SET status=?, error=?, scanned_at=? WHERE digest=?`, status, msg, time.Now().UnixMilli(), digest)
		return err
	}
	_, err := db.ExecContext(ctx, `UPDATE vuln_images SET status=?, error=? WHERE digest=?`, status, msg, digest)
	return err
}

// retryAfter is how long a failed image waits before the next attempt.
const retryAfter = 10 * time.Minute

// saveReport stores a scan's inventory (when given) and report with its findings.
func saveReport(ctx context.Context, db *sql.DB, digest string, inv *inventory.Inventory, rep *vuln.Report, dbUpdated time.Time) error {
	rb, err := gz(rep)
	if err != nil {
		return err
	}
	var ib []byte
	if inv != nil {
		if ib, err = gz(inv); err != nil {
			return err
		}
	}
	fixable := 0
	for _, f := range rep.Findings {
		if f.Fixed != "" {
			fixable++
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	q := `UPDATE vuln_images SET status='done', error='', os=?, packages=?, critical=?, high=?, medium=?, low=?, unknown=?, fixable=?, scanned_at=?, db_updated=?, report=?`
	args := []any{rep.OS, len(rep.Packages), rep.Counts["critical"], rep.Counts["high"], rep.Counts["medium"], rep.Counts["low"], rep.Counts["unknown"], fixable,
		rep.ScannedAt.UnixMilli(), dbUpdated.UnixMilli(), rb}
	if ib != nil {
		q += `, inventory=?`
		args = append(args, ib)
	}
	q += ` WHERE digest=?`
	args = append(args, digest)
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM vuln_findings WHERE digest=?`, digest); err != nil {
		return err
	}
	for _, f := range rep.Findings {
		if _, err := tx.ExecContext(ctx, `INSERT INTO vuln_findings(digest,id,package,version,fixed,severity,score,summary) VALUES(?,?,?,?,?,?,?,?)`,
			digest, f.ID, f.Package, f.Version, f.Fixed, f.Severity, f.Score, f.Summary); err != nil {
			return err
		}
	}
	return tx.Commit()
}
