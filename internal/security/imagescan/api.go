package imagescan

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"vigil/internal/httpjson"
	"vigil/internal/security/osv"
	"vigil/internal/security/vuln"
	"vigil/internal/security/vulndb"
)

// Register mounts the API under /api/vulns; wrap adds authentication.
func (s *Scanner) Register(mux *http.ServeMux, wrap func(http.Handler) http.Handler) {
	h := func(pattern string, f http.HandlerFunc) { mux.Handle(pattern, wrap(f)) }
	h("GET /api/vulns/status", s.handleStatus)
	h("GET /api/vulns/overview", s.handleOverview)
	h("GET /api/vulns/images", s.handleImages)
	h("GET /api/vulns/images/{digest}", s.handleImage)
	h("GET /api/vulns/workloads", s.handleWorkloads)
	h("GET /api/vulns/containers", s.handleContainers)
	h("POST /api/vulns/rescan", s.handleRescan)
	h("POST /api/vulns/db/import", s.handleImport)
}

// Counts are findings by severity.
type Counts struct {
	Critical int `json:"critical"`
	High     int `json:"high"`
	Medium   int `json:"medium"`
	Low      int `json:"low"`
	Unknown  int `json:"unknown"`
}

func (c *Counts) add(o Counts) {
	c.Critical += o.Critical
	c.High += o.High
	c.Medium += o.Medium
	c.Low += o.Low
	c.Unknown += o.Unknown
}

// DBStatus describes the vulnerability database in use.
type DBStatus struct {
	Updated    time.Time          `json:"updated,omitzero"`
	AgeSeconds int64              `json:"ageSeconds"`
	Stale      bool               `json:"stale"`
	StaleAfter int64              `json:"staleAfterSeconds"`
	Records    int                `json:"records"`
	Ecosystems []DBEcosystemState `json:"ecosystems"`
}

// DBEcosystemState is one ecosystem of the database.
type DBEcosystemState struct {
	Name    string    `json:"name"`
	Records int       `json:"records"`
	Updated time.Time `json:"updated"`
	Source  string    `json:"source"`
}

func dbStatus(db *vulndb.DB) DBStatus {
	now := time.Now()
	st := DBStatus{Updated: db.Meta.Updated, AgeSeconds: int64(db.Meta.Age(now).Seconds()), Stale: db.Meta.Stale(now),
		StaleAfter: int64(vulndb.StaleAfter.Seconds()), Records: db.Records(), Ecosystems: []DBEcosystemState{}}
	for n, e := range db.Meta.Ecosystems {
		st.Ecosystems = append(st.Ecosystems, DBEcosystemState{Name: n, Records: e.Records, Updated: e.Updated, Source: e.Source})
	}
	sort.Slice(st.Ecosystems, func(i, j int) bool { return st.Ecosystems[i].Name < st.Ecosystems[j].Name })
	return st
}

func (s *Scanner) handleStatus(w http.ResponseWriter, r *http.Request) {
	p, db := s.Status()
	byStatus := map[string]int{"pending": 0, "scanning": 0, "done": 0, "error": 0}
	rows, err := s.db.QueryContext(r.Context(), `SELECT status, COUNT(*) FROM vuln_images WHERE digest IN (SELECT digest FROM vuln_containers) GROUP BY status`)
	if err != nil {
		httpjson.Error(w, 500, err)
		return
	}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			rows.Close()
			httpjson.Error(w, 500, err)
			return
		}
		byStatus[st] = n
	}
	rows.Close()
	httpjson.Write(w, 200, map[string]any{"progress": p, "db": dbStatus(db), "images": byStatus})
}

// imageRow is one image with its counts.
type imageRow struct {
	Digest     string    `json:"digest"`
	Ref        string    `json:"ref"`
	Status     string    `json:"status"`
	Error      string    `json:"error,omitempty"`
	OS         string    `json:"os,omitempty"`
	Packages   int       `json:"packages"`
	Vulns      Counts    `json:"vulns"`
	Fixable    int       `json:"fixable"`
	ScannedAt  time.Time `json:"scannedAt,omitzero"`
	Containers int       `json:"containers"`
	Risk       float64   `json:"risk"`
}

// risk orders images and workloads: severity-weighted finding counts.
func risk(c Counts) float64 {
	return float64(c.Critical)*100 + float64(c.High)*10 + float64(c.Medium) + float64(c.Low)*0.1 + float64(c.Unknown)*0.5
}

func (s *Scanner) images(ctx context.Context, inUse bool) ([]imageRow, error) {
	q := `SELECT i.digest, i.ref, i.status, i.error, i.os, i.packages, i.critical, i.high, i.medium, i.low, i.unknown, i.fixable, i.scanned_at,
		(SELECT COUNT(*) FROM vuln_containers c WHERE c.digest = i.digest) FROM vuln_images i`
	if inUse {
		q += ` WHERE i.digest IN (SELECT digest FROM vuln_containers)`
	}
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []imageRow{}
	for rows.Next() {
		var im imageRow
		var at int64
		if err := rows.Scan(&im.Digest, &im.Ref, &im.Status, &im.Error, &im.OS, &im.Packages, &im.Vulns.Critical, &im.Vulns.High,
			&im.Vulns.Medium, &im.Vulns.Low, &im.Vulns.Unknown, &im.Fixable, &at, &im.Containers); err != nil {
			return nil, err
		}
		if at > 0 && im.Status == "done" {
			im.ScannedAt = time.UnixMilli(at).UTC()
		}
		im.Risk = risk(im.Vulns)
		out = append(out, im)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Risk != out[j].Risk {
			return out[i].Risk > out[j].Risk
		}
		return out[i].Ref < out[j].Ref
	})
	return out, rows.Err()
}

func (s *Scanner) handleImages(w http.ResponseWriter, r *http.Request) {
	ims, err := s.images(r.Context(), r.URL.Query().Get("all") == "")
	if err != nil {
		httpjson.Error(w, 500, err)
		return
	}
	httpjson.Write(w, 200, ims)
}

func (s *Scanner) handleImage(w http.ResponseWriter, r *http.Request) {
	d := r.PathValue("digest")
	var im imageRow
	var rep []byte
	var at int64
	err := s.db.QueryRowContext(r.Context(), `SELECT digest, ref, status, error, os, packages, critical, high, medium, low, unknown, fixable, scanned_at, report
		FROM vuln_images WHERE digest=?`, d).Scan(&im.Digest, &im.Ref, &im.Status, &im.Error, &im.OS, &im.Packages, &im.Vulns.Critical,
		&im.Vulns.High, &im.Vulns.Medium, &im.Vulns.Low, &im.Vulns.Unknown, &im.Fixable, &at, &rep)
	if errors.Is(err, sql.ErrNoRows) {
		httpjson.Error(w, 404, fmt.Errorf("no image with digest %q", d))
		return
	}
	if err != nil {
		httpjson.Error(w, 500, err)
		return
	}
	if at > 0 && im.Status == "done" {
		im.ScannedAt = time.UnixMilli(at).UTC()
	}
	var report *vuln.Report
	if len(rep) > 0 {
		report = &vuln.Report{}
		if err := gunzip(rep, report); err != nil {
			httpjson.Error(w, 500, fmt.Errorf("stored report: %w", err))
			return
		}
	}
	cs, err := s.containers(r.Context(), "digest = ?", d)
	if err != nil {
		httpjson.Error(w, 500, err)
		return
	}
	im.Containers = len(cs)
	im.Risk = risk(im.Vulns)
	httpjson.Write(w, 200, map[string]any{"image": im, "report": report, "containers": cs})
}

// containerRow is a running container with its image's counts.
type containerRow struct {
	container
	Status  string `json:"status"`
	Error   string `json:"error,omitempty"`
	Vulns   Counts `json:"vulns"`
	Fixable int    `json:"fixable"`
}

func (s *Scanner) containers(ctx context.Context, where string, args ...any) ([]containerRow, error) {
	q := `SELECT c.namespace, c.pod, c.container, c.kind, c.workload, c.node, c.image, c.digest,
		COALESCE(i.status,'pending'), COALESCE(i.error,''), COALESCE(i.critical,0), COALESCE(i.high,0), COALESCE(i.medium,0), COALESCE(i.low,0), COALESCE(i.unknown,0), COALESCE(i.fixable,0)
		FROM vuln_containers c LEFT JOIN vuln_images i ON i.digest = c.digest`
	if where != "" {
		q += " WHERE c." + where
	}
	q += ` ORDER BY c.namespace, c.workload, c.pod, c.container`
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []containerRow{}
	for rows.Next() {
		var c containerRow
		if err := rows.Scan(&c.Namespace, &c.Pod, &c.Container, &c.Kind, &c.Workload, &c.Node, &c.Image, &c.Digest, &c.Status, &c.Error,
			&c.Vulns.Critical, &c.Vulns.High, &c.Vulns.Medium, &c.Vulns.Low, &c.Vulns.Unknown, &c.Fixable); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s *Scanner) handleContainers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var conds []string
	var args []any
	for _, k := range []string{"namespace", "workload", "kind"} {
		if v := q.Get(k); v != "" {
			conds = append(conds, k+" = ?")
			args = append(args, v)
		}
	}
	where := strings.Join(conds, " AND c.")
	cs, err := s.containers(r.Context(), where, args...)
	if err != nil {
		httpjson.Error(w, 500, err)
		return
	}
	httpjson.Write(w, 200, cs)
}

// Workload is the agreed /api/vulns/workloads row: distinct findings of the
// distinct images the workload runs.
type Workload struct {
	Namespace  string   `json:"namespace"`
	Kind       string   `json:"kind"`
	Name       string   `json:"name"`
	Images     int      `json:"images"`
	Vulns      Counts   `json:"vulns"`
	Fixable    int      `json:"fixable"`
	Containers []string `json:"containers"`
	Pending    int      `json:"pending"` // images not scanned yet
}

func (s *Scanner) workloads(ctx context.Context) ([]Workload, error) {
	cs, err := s.containers(ctx, "")
	if err != nil {
		return nil, err
	}
	type key struct{ ns, kind, name string }
	idx := map[key]*Workload{}
	seen := map[key]map[string]bool{}
	var order []key
	for _, c := range cs {
		k := key{c.Namespace, c.Kind, c.Workload}
		wl := idx[k]
		if wl == nil {
			wl = &Workload{Namespace: c.Namespace, Kind: c.Kind, Name: c.Workload, Containers: []string{}}
			idx[k] = wl
			seen[k] = map[string]bool{}
			order = append(order, k)
		}
		if !slices.Contains(wl.Containers, c.Container) {
			wl.Containers = append(wl.Containers, c.Container)
		}
		if seen[k][c.Digest] {
			continue
		}
		seen[k][c.Digest] = true
		wl.Images++
		if c.Status != "done" {
			wl.Pending++
		}
		wl.Vulns.add(c.Vulns)
		wl.Fixable += c.Fixable
	}
	out := make([]Workload, 0, len(order))
	for _, k := range order {
		out = append(out, *idx[k])
	}
	return out, nil
}

func (s *Scanner) handleWorkloads(w http.ResponseWriter, r *http.Request) {
	wls, err := s.workloads(r.Context())
	if err != nil {
		httpjson.Error(w, 500, err)
		return
	}
	httpjson.Write(w, 200, wls)
}

// topCVE is one advisory across the running images.
type topCVE struct {
	ID         string   `json:"id"`
	Severity   string   `json:"severity"`
	Score      float64  `json:"score,omitempty"`
	Summary    string   `json:"summary"`
	Images     int      `json:"images"`
	Containers int      `json:"containers"`
	Packages   []string `json:"packages"`
	Fixed      string   `json:"fixed,omitempty"`
}

func (s *Scanner) handleOverview(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ims, err := s.images(ctx, true)
	if err != nil {
		httpjson.Error(w, 500, err)
		return
	}
	var total Counts
	fixable, findings, scanned := 0, 0, 0
	for _, im := range ims {
		total.add(im.Vulns)
		fixable += im.Fixable
		if im.Status == "done" {
			scanned++
		}
	}
	findings = total.Critical + total.High + total.Medium + total.Low + total.Unknown
	top := ims
	if len(top) > 10 {
		top = top[:10]
	}
	rows, err := s.db.QueryContext(ctx, `SELECT f.id, MAX(f.severity), MAX(f.score), MAX(f.summary), COUNT(DISTINCT f.digest),
		GROUP_CONCAT(DISTINCT f.package), MAX(f.fixed),
		(SELECT COUNT(*) FROM vuln_containers c WHERE c.digest IN (SELECT digest FROM vuln_findings g WHERE g.id = f.id))
		FROM vuln_findings f WHERE f.digest IN (SELECT digest FROM vuln_containers) GROUP BY f.id`)
	if err != nil {
		httpjson.Error(w, 500, err)
		return
	}
	var cves []topCVE
	for rows.Next() {
		var c topCVE
		var pk string
		if err := rows.Scan(&c.ID, &c.Severity, &c.Score, &c.Summary, &c.Images, &pk, &c.Fixed, &c.Containers); err != nil {
			rows.Close()
			httpjson.Error(w, 500, err)
			return
		}
		c.Packages = strings.Split(pk, ",")
		cves = append(cves, c)
	}
	rows.Close()
	sort.SliceStable(cves, func(i, j int) bool {
		a, b := cves[i], cves[j]
		if ra, rb := osv.SeverityRank(a.Severity), osv.SeverityRank(b.Severity); ra != rb {
			return ra > rb
		}
		if a.Containers != b.Containers {
			return a.Containers > b.Containers
		}
		if a.Score != b.Score {
			return a.Score > b.Score
		}
		return a.ID < b.ID
	})
	if len(cves) > 15 {
		cves = cves[:15]
	}
	if cves == nil {
		cves = []topCVE{}
	}
	var ncont int
	_ = s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM vuln_containers`).Scan(&ncont)
	p, db := s.Status()
	httpjson.Write(w, 200, map[string]any{
		"counts": total, "findings": findings, "fixable": fixable, "images": len(ims), "scanned": scanned, "containers": ncont,
		"topImages": top, "topCVEs": cves, "db": dbStatus(db), "progress": p,
	})
}

// handleRescan rematches every stored inventory (after a database change
// made outside vigil's own import), or with ?pull=1 pulls and scans every image again.
func (s *Scanner) handleRescan(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("pull") != "" {
		if _, err := s.db.ExecContext(r.Context(), `UPDATE vuln_images SET status='pending', error=''`); err != nil {
			httpjson.Error(w, 500, err)
			return
		}
	} else {
		// Forget the loaded version so the next pass reloads and rematches.
		s.mu.Lock()
		s.vdb = vulndb.FromRecords(vulndb.Meta{}, nil)
		s.mu.Unlock()
	}
	s.Wake()
	httpjson.Write(w, 202, map[string]string{"status": "queued"})
}

// maxImportBytes bounds an uploaded offline bundle.
const maxImportBytes = 1 << 30

// handleImport loads an OSV archive (zip) posted as the body, for sites
// whose server cannot reach a mirror.
func (s *Scanner) handleImport(w http.ResponseWriter, r *http.Request) {
	tmp, err := os.CreateTemp("", "vigil-vulndb-*.zip")
	if err != nil {
		httpjson.Error(w, 500, err)
		return
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(tmp, io.LimitReader(r.Body, maxImportBytes+1))
	tmp.Close()
	if err != nil {
		httpjson.Error(w, 400, fmt.Errorf("read upload: %w", err))
		return
	}
	if n > maxImportBytes {
		httpjson.Error(w, 413, fmt.Errorf("archive larger than %d bytes", maxImportBytes))
		return
	}
	if err := os.MkdirAll(filepath.Dir(s.opts.DBDir), 0o755); err != nil {
		httpjson.Error(w, 500, err)
		return
	}
	meta, err := vulndb.Import(s.opts.DBDir, tmp.Name(), time.Now())
	if err != nil {
		httpjson.Error(w, 400, err)
		return
	}
	s.Wake()
	httpjson.Write(w, 200, meta)
}
