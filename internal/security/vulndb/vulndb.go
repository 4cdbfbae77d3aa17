// Package vulndb keeps an offline copy of OSV vulnerability records, one file
// per ecosystem, and indexes them by ecosystem and package for matching.
//
// Records come from OSV archives (one all.zip per ecosystem, as the OSV
// project publishes them), from a directory of *.json records, or from a
// mirror URL laid out like the OSV bucket (<mirror>/<Ecosystem>/all.zip).
package vulndb

import (
	"compress/gzip"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"vigil/internal/security/osv"
)

// StaleAfter is how old the data may get before vigil warns: advisories for
// actively exploited bugs appear daily.
const StaleAfter = 7 * 24 * time.Hour

const metaFile = "meta.json"

// Meta describes the stored data.
type Meta struct {
	// Updated is when the data was last imported or downloaded.
	Updated    time.Time                `json:"updated"`
	Ecosystems map[string]EcosystemMeta `json:"ecosystems"`
}

// EcosystemMeta describes one ecosystem's records.
type EcosystemMeta struct {
	Records int       `json:"records"`
	Updated time.Time `json:"updated"`
	Source  string    `json:"source"`
}

// Age is how long ago the data was updated (zero time: never).
func (m Meta) Age(now time.Time) time.Duration {
	if m.Updated.IsZero() {
		return 0
	}
	return now.Sub(m.Updated)
}

// Stale reports whether the data is missing or older than StaleAfter.
func (m Meta) Stale(now time.Time) bool {
	return m.Updated.IsZero() || m.Age(now) > StaleAfter
}

// DB is a loaded, indexed database. It is read-only and safe for concurrent use.
type DB struct {
	Meta  Meta
	index map[string]map[string][]Entry // base ecosystem → package name → entries
	total int
	byID  map[string]*osv.Record
	// aliasedBy lists the records naming an id among their aliases: aliases
	// are not always listed both ways.
	aliasedBy map[string][]*osv.Record
}

// Entry is one affected package of one record.
type Entry struct {
	Record   *osv.Record
	Affected *osv.Affected
}

// Records is the number of distinct records loaded.
func (db *DB) Records() int { return db.total }

// HasEcosystem reports whether any data exists for an ecosystem (suffix ignored).
func (db *DB) HasEcosystem(eco string) bool {
	_, ok := db.index[osv.BaseEcosystem(eco)]
	return ok
}

// Lookup returns the entries for a package name in an ecosystem. The caller
// still checks the ecosystem suffix and the version.
func (db *DB) Lookup(eco, name string) []Entry {
	base := osv.BaseEcosystem(eco)
	return db.index[base][NormalizeName(base, name)]
}

// Record returns the record with an id (nil when absent).
func (db *DB) Record(id string) *osv.Record { return db.byID[id] }

// Rate is the severity of an entry: its own, or, when it has none, that of
// the highest rated record among its aliases present in the database — e.g.
// the GHSA copy of a Go vulnerability database entry, which carries CVSS
// where the Go entry never does. An alias's rating for the same package is
// preferred to its record-wide one. Without any, the entry stays unknown.
func (db *DB) Rate(e Entry) osv.Rating {
	own := e.Record.Rate(e.Affected)
	if own.Rated() {
		return own
	}
	var best osv.Rating
	for _, r := range db.aliases(e.Record) {
		rt := r.Rate(sameAffected(r, e.Affected))
		if !rt.Rated() {
			continue
		}
		rt.From = r.ID
		if !best.Rated() || rt.Better(best) || (!best.Better(rt) && rt.From < best.From) {
			best = rt
		}
	}
	if best.Rated() {
		return best
	}
	return own
}

// aliases are the other records in the database for the same vulnerability:
// those named in r's aliases and upstream ids, and those naming r.
func (db *DB) aliases(r *osv.Record) []*osv.Record {
	var out []*osv.Record
	seen := map[string]bool{r.ID: true}
	add := func(o *osv.Record) {
		if o != nil && !seen[o.ID] {
			seen[o.ID] = true
			out = append(out, o)
		}
	}
	for _, ids := range [][]string{r.Aliases, r.Upstream} {
		for _, id := range ids {
			add(db.byID[id])
		}
	}
	for _, o := range db.aliasedBy[r.ID] {
		add(o)
	}
	return out
}

// sameAffected is r's entry for the package a names, or an empty one (so
// only r's record-wide severity applies).
func sameAffected(r *osv.Record, a *osv.Affected) *osv.Affected {
	base := osv.BaseEcosystem(a.Package.Ecosystem)
	for i := range r.Affected {
		o := &r.Affected[i]
		if osv.BaseEcosystem(o.Package.Ecosystem) == base && NormalizeName(base, o.Package.Name) == NormalizeName(base, a.Package.Name) {
			return o
		}
	}
	return &osv.Affected{}
}

// NormalizeName applies an ecosystem's name equivalence (PEP 503 for PyPI).
func NormalizeName(baseEco, name string) string {
	if baseEco == "PyPI" {
		return strings.ToLower(pypiSep.ReplaceAllString(name, "-"))
	}
	return name
}

var pypiSep = regexp.MustCompile(`[-_.]+`)

// FromRecords indexes records in memory (used by Load and by tests).
func FromRecords(meta Meta, recs []*osv.Record) *DB {
	db := &DB{Meta: meta, index: map[string]map[string][]Entry{}, byID: map[string]*osv.Record{}, aliasedBy: map[string][]*osv.Record{}}
	for _, r := range recs {
		if !r.Withdrawn.IsZero() {
			continue
		}
		if db.byID[r.ID] == nil {
			// A record affecting several ecosystems is stored (and loaded) once per ecosystem.
			db.byID[r.ID] = r
			db.total++
			for _, a := range r.Aliases {
				db.aliasedBy[a] = append(db.aliasedBy[a], r)
			}
		}
		for i := range r.Affected {
			a := &r.Affected[i]
			base := osv.BaseEcosystem(a.Package.Ecosystem)
			m := db.index[base]
			if m == nil {
				m = map[string][]Entry{}
				db.index[base] = m
			}
			n := NormalizeName(base, a.Package.Name)
			m[n] = append(m[n], Entry{Record: r, Affected: a})
		}
	}
	return db
}

// Load reads the database in dir. A missing directory is an empty database
// (Meta.Updated zero), so a scanner can still run and say it has no data.
func Load(dir string) (*DB, error) {
	meta, err := ReadMeta(dir)
	if err != nil {
		return nil, err
	}
	var all []*osv.Record
	for eco := range meta.Ecosystems {
		recs, err := readEcosystem(dir, eco)
		if err != nil {
			return nil, err
		}
		all = append(all, recs...)
	}
	return FromRecords(meta, all), nil
}

// ReadMeta reads only the description of the database in dir.
func ReadMeta(dir string) (Meta, error) {
	meta := Meta{Ecosystems: map[string]EcosystemMeta{}}
	b, err := os.ReadFile(filepath.Join(dir, metaFile))
	if errors.Is(err, os.ErrNotExist) {
		return meta, nil
	}
	if err != nil {
		return meta, fmt.Errorf("read vulnerability database: %w", err)
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return meta, fmt.Errorf("vulnerability database %s is damaged: %w", filepath.Join(dir, metaFile), err)
	}
	if meta.Ecosystems == nil {
		meta.Ecosystems = map[string]EcosystemMeta{}
	}
	return meta, nil
}

var ecoFileName = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

func ecosystemPath(dir, eco string) string {
	return filepath.Join(dir, "eco-"+ecoFileName.ReplaceAllString(eco, "_")+".gob.gz")
}

func readEcosystem(dir, eco string) ([]*osv.Record, error) {
	f, err := os.Open(ecosystemPath(dir, eco))
	if err != nil {
		return nil, fmt.Errorf("vulnerability database: %s data: %w", eco, err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("vulnerability database: %s data: %w", eco, err)
	}
	var recs []*osv.Record
	if err := gob.NewDecoder(zr).Decode(&recs); err != nil {
		return nil, fmt.Errorf("vulnerability database: %s data is damaged: %w", eco, err)
	}
	return recs, nil
}

// writeEcosystem replaces one ecosystem's file atomically.
func writeEcosystem(dir, eco string, recs []*osv.Record) error {
	tmp, err := os.CreateTemp(dir, ".eco-*")
	if err != nil {
		return fmt.Errorf("write vulnerability database: %w", err)
	}
	defer os.Remove(tmp.Name())
	zw, _ := gzip.NewWriterLevel(tmp, gzip.BestSpeed)
	if err := gob.NewEncoder(zw).Encode(recs); err != nil {
		tmp.Close()
		return fmt.Errorf("encode %s records: %w", eco, err)
	}
	if err := zw.Close(); err != nil {
		tmp.Close()
		return fmt.Errorf("write vulnerability database: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write vulnerability database: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write vulnerability database: %w", err)
	}
	return os.Rename(tmp.Name(), ecosystemPath(dir, eco))
}

func writeMeta(dir string, meta Meta) error {
	b, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, metaFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write vulnerability database: %w", err)
	}
	return os.Rename(tmp, filepath.Join(dir, metaFile))
}

// Store merges records into the database in dir: per ecosystem, a record
// replaces the stored one with the same id; with replace set the ecosystems
// present in recs are replaced whole (a full archive download).
func Store(dir string, recs []*osv.Record, source string, replace bool, now time.Time) (Meta, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Meta{}, fmt.Errorf("create vulnerability database: %w", err)
	}
	meta, err := ReadMeta(dir)
	if err != nil {
		return meta, err
	}
	byEco := map[string][]*osv.Record{}
	for _, r := range recs {
		ecos := map[string]bool{}
		for _, a := range r.Affected {
			ecos[osv.BaseEcosystem(a.Package.Ecosystem)] = true
		}
		for e := range ecos {
			byEco[e] = append(byEco[e], r)
		}
	}
	ecos := make([]string, 0, len(byEco))
	for e := range byEco {
		ecos = append(ecos, e)
	}
	sort.Strings(ecos)
	for _, eco := range ecos {
		merged := byEco[eco]
		if _, ok := meta.Ecosystems[eco]; ok && !replace {
			old, err := readEcosystem(dir, eco)
			if err != nil {
				return meta, err
			}
			ids := map[string]bool{}
			for _, r := range merged {
				ids[r.ID] = true
			}
			for _, r := range old {
				if !ids[r.ID] {
					merged = append(merged, r)
				}
			}
		}
		slices.SortFunc(merged, func(a, b *osv.Record) int { return strings.Compare(a.ID, b.ID) })
		if err := writeEcosystem(dir, eco, merged); err != nil {
			return meta, err
		}
		meta.Ecosystems[eco] = EcosystemMeta{Records: len(merged), Updated: now, Source: source}
	}
	meta.Updated = now
	return meta, writeMeta(dir, meta)
}
