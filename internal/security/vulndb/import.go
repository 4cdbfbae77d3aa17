package vulndb

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"vigil/internal/security/osv"
)

// Limits for offline bundles and downloads: the largest OSV ecosystem archive
// (Debian) is a few hundred MB uncompressed and well under a million records.
const (
	MaxRecords       = 2_000_000
	MaxArchiveBytes  = 2 << 30
	MaxDownloadBytes = 1 << 30
)

// ReadPath reads records from a *.json file, a *.zip archive, or a directory
// holding either (searched recursively).
func ReadPath(path string) ([]*osv.Record, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	var recs []*osv.Record
	if !st.IsDir() {
		return readFile(path, recs)
	}
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".json", ".zip":
			recs, err = readFile(p, recs)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("import %s: no OSV records (*.json or *.zip) found", path)
	}
	return recs, nil
}

func readFile(path string, recs []*osv.Record) ([]*osv.Record, error) {
	if strings.EqualFold(filepath.Ext(path), ".zip") {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("import %s: %w", path, err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return nil, fmt.Errorf("import %s: %w", path, err)
		}
		out, err := ReadZip(f, st.Size(), recs)
		if err != nil {
			return nil, fmt.Errorf("import %s: %w", path, err)
		}
		return out, nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	if st.Size() > osv.MaxRecordBytes {
		return nil, fmt.Errorf("import %s: %d bytes is too large for one OSV record", path, st.Size())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	r, err := osv.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	return append(recs, r), nil
}

// ReadZip reads every *.json entry of an OSV archive.
func ReadZip(r io.ReaderAt, size int64, recs []*osv.Record) ([]*osv.Record, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("read zip: %w", err)
	}
	var total uint64
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || !strings.EqualFold(filepath.Ext(f.Name), ".json") {
			continue
		}
		if f.UncompressedSize64 > osv.MaxRecordBytes {
			return nil, fmt.Errorf("zip entry %s: %d bytes is too large for one OSV record", f.Name, f.UncompressedSize64)
		}
		total += f.UncompressedSize64
		if total > MaxArchiveBytes {
			return nil, fmt.Errorf("zip archive expands to more than %d bytes", int64(MaxArchiveBytes))
		}
		if len(recs) >= MaxRecords {
			return nil, fmt.Errorf("more than %d records", MaxRecords)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("zip entry %s: %w", f.Name, err)
		}
		// The header's size can lie; read one byte past the limit to notice.
		b, err := io.ReadAll(io.LimitReader(rc, osv.MaxRecordBytes+1))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("zip entry %s: %w", f.Name, err)
		}
		rec, err := osv.Parse(b)
		if err != nil {
			return nil, fmt.Errorf("zip entry %s: %w", f.Name, err)
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// Import reads path and merges its records into the database in dir.
func Import(dir, path string, now time.Time) (Meta, error) {
	recs, err := ReadPath(path)
	if err != nil {
		return Meta{}, err
	}
	abs, _ := filepath.Abs(path)
	return Store(dir, recs, "import "+abs, false, now)
}

// DefaultEcosystems are downloaded by Update when none are named.
var DefaultEcosystems = []string{"Go", "Debian", "Alpine", "Ubuntu", "Red Hat", "npm", "PyPI", "Maven"}

// Update downloads <mirror>/<ecosystem>/all.zip for each ecosystem and
// replaces that ecosystem's records. An ecosystem that fails leaves the others
// updated and is reported in the error.
func Update(ctx context.Context, client *http.Client, dir, mirror string, ecosystems []string, now time.Time) (Meta, error) {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Minute}
	}
	base, err := url.Parse(strings.TrimRight(mirror, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https" && base.Scheme != "file") {
		return Meta{}, fmt.Errorf("mirror %q: not an http(s) or file URL", mirror)
	}
	if len(ecosystems) == 0 {
		ecosystems = DefaultEcosystems
	}
	var failed []string
	var meta Meta
	for _, eco := range ecosystems {
		data, err := fetch(ctx, client, base, eco)
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", eco, err))
			continue
		}
		recs, err := ReadZip(bytes.NewReader(data), int64(len(data)), nil)
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", eco, err))
			continue
		}
		// Records of the archive may also name other ecosystems; keep only the
		// archive's own so a partial download never replaces another whole.
		var own []*osv.Record
		for _, r := range recs {
			for _, a := range r.Affected {
				if osv.BaseEcosystem(a.Package.Ecosystem) == eco {
					own = append(own, r)
					break
				}
			}
		}
		if meta, err = Store(dir, own, mirror+"/"+eco+"/all.zip", true, now); err != nil {
			return meta, err
		}
	}
	if len(failed) > 0 {
		return meta, fmt.Errorf("update failed for %d of %d ecosystems: %s", len(failed), len(ecosystems), strings.Join(failed, "; "))
	}
	return meta, nil
}

func fetch(ctx context.Context, client *http.Client, base *url.URL, eco string) ([]byte, error) {
	u := *base
	u.Path = u.Path + "/" + url.PathEscape(eco) + "/all.zip"
	if u.Scheme == "file" {
		return os.ReadFile(u.Path)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u.String(), resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxDownloadBytes+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u.String(), err)
	}
	if len(b) > MaxDownloadBytes {
		return nil, fmt.Errorf("GET %s: larger than %d bytes", u.String(), MaxDownloadBytes)
	}
	return b, nil
}
