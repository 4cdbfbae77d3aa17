package imagescan

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"vigil/internal/security/vuln"
)

// ClusterScan lists the images running now and the stored findings of each,
// for reports. Findings that differ only by the file they were read from
// (one Go module in two binaries) are listed once.
func (s *Scanner) ClusterScan(ctx context.Context) (*vuln.ClusterScan, error) {
	_, db := s.Status()
	now := time.Now()
	out := &vuln.ClusterScan{Time: now.UTC(), Images: []vuln.ClusterImage{}, Findings: []vuln.ClusterFinding{},
		DB: vuln.DBInfo{Updated: db.Meta.Updated, AgeSeconds: int64(db.Meta.Age(now).Seconds()), Stale: db.Meta.Stale(now), Records: db.Records(), Ecosystems: []string{}}}
	for e := range db.Meta.Ecosystems {
		out.DB.Ecosystems = append(out.DB.Ecosystems, e)
	}
	slices.Sort(out.DB.Ecosystems)
	rows, err := s.db.QueryContext(ctx, `SELECT i.digest, i.status, i.error, i.scanned_at, i.report IS NOT NULL,
		(SELECT COUNT(*) FROM vuln_containers c WHERE c.digest = i.digest),
		(SELECT MIN(c.image) FROM vuln_containers c WHERE c.digest = i.digest)
		FROM vuln_images i WHERE i.digest IN (SELECT digest FROM vuln_containers) ORDER BY 7, 1`)
	if err != nil {
		return nil, fmt.Errorf("list scanned images: %w", err)
	}
	idx := map[string]int{}
	for rows.Next() {
		var im vuln.ClusterImage
		var at int64
		if err := rows.Scan(&im.Digest, &im.Status, &im.Error, &at, &im.Scanned, &im.Containers, &im.Image); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list scanned images: %w", err)
		}
		if im.Scanned && at > 0 {
			im.ScannedAt = time.UnixMilli(at).UTC()
		}
		im.Repository = repository(im.Image)
		idx[im.Digest] = len(out.Images)
		out.Images = append(out.Images, im)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list scanned images: %w", err)
	}
	rows, err = s.db.QueryContext(ctx, `SELECT DISTINCT digest, id, package, version, fixed, severity, score, summary
		FROM vuln_findings WHERE digest IN (SELECT digest FROM vuln_containers)`)
	if err != nil {
		return nil, fmt.Errorf("list findings: %w", err)
	}
	defer rows.Close()
	type key struct{ digest, id, pkg, ver string }
	seen := map[key]bool{}
	for rows.Next() {
		var f vuln.ClusterFinding
		if err := rows.Scan(&f.Digest, &f.ID, &f.Package, &f.Version, &f.Fixed, &f.Severity, &f.Score, &f.Summary); err != nil {
			return nil, fmt.Errorf("list findings: %w", err)
		}
		k := key{f.Digest, f.ID, f.Package, f.Version}
		i, ok := idx[f.Digest]
		if seen[k] || !ok {
			continue
		}
		seen[k] = true
		im := out.Images[i]
		f.Image, f.Repository, f.Containers = im.Image, im.Repository, im.Containers
		out.Findings = append(out.Findings, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list findings: %w", err)
	}
	vuln.SortClusterFindings(out.Findings)
	return out, nil
}

// repository is an image name without tag or digest ("nginx:1.27" →
// "index.docker.io/library/nginx"); an unparsable name stays as it is.
func repository(image string) string {
	r, err := name.ParseReference(image)
	if err != nil {
		return image
	}
	return r.Context().Name()
}
