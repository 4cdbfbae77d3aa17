package vuln

import (
	"context"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"vigil/internal/security/inventory"
	"vigil/internal/security/vulndb"
)

// ScanImage inventories img and matches it against db.
func ScanImage(ctx context.Context, img v1.Image, src inventory.Source, db *vulndb.DB) (*Report, error) {
	start := time.Now()
	inv, err := inventory.Image(ctx, img, inventory.ImageOptions{})
	if err != nil {
		return nil, err
	}
	r := Build(inv, db, time.Now())
	r.Target, r.Kind, r.Digest = src.Ref, src.Kind, src.Digest
	r.DurationMS = time.Since(start).Milliseconds()
	return r, nil
}

// ScanRef opens a tarball, OCI layout or registry reference and scans it.
func ScanRef(ctx context.Context, ref string, opts inventory.OpenOptions, db *vulndb.DB) (*Report, error) {
	if opts.Context == nil {
		opts.Context = ctx
	}
	img, src, err := inventory.OpenImage(ref, opts)
	if err != nil {
		return nil, err
	}
	return ScanImage(ctx, img, src, db)
}

// ScanDir inventories a directory and matches it against db.
func ScanDir(ctx context.Context, dir string, db *vulndb.DB) (*Report, error) {
	start := time.Now()
	inv, err := inventory.Dir(ctx, dir)
	if err != nil {
		return nil, err
	}
	r := Build(inv, db, time.Now())
	r.Target, r.Kind = dir, "directory"
	r.DurationMS = time.Since(start).Milliseconds()
	return r, nil
}
