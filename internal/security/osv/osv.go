// Package osv reads vulnerability records in the OSV schema
// (https://ossf.github.io/osv-schema/) and decides whether a package version
// is affected, using each ecosystem's own version ordering.
package osv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/osv-scalibr/semantic"
)

// MaxRecordBytes bounds one record: the largest real records are a few hundred KB.
const MaxRecordBytes = 8 << 20

// Record is the subset of an OSV record vigil uses.
type Record struct {
	ID        string     `json:"id"`
	Modified  time.Time  `json:"modified"`
	Published time.Time  `json:"published,omitzero"`
	Withdrawn time.Time  `json:"withdrawn,omitzero"`
	Aliases   []string   `json:"aliases,omitempty"`
	Upstream  []string   `json:"upstream,omitempty"`
	Summary   string     `json:"summary,omitempty"`
	Details   string     `json:"details,omitempty"`
	Severity  []Severity `json:"severity,omitempty"`
	Affected  []Affected `json:"affected"`
	// DatabaseSpecific may carry a plain severity word (GHSA, Debian, Alpine feeds).
	DatabaseSpecific json.RawMessage `json:"database_specific,omitempty"`
	References       []Reference     `json:"references,omitempty"`
}

// Severity is a scored severity, e.g. {"type":"CVSS_V3","score":"CVSS:3.1/AV:N/..."}.
type Severity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

// Reference is a link about the vulnerability.
type Reference struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// Affected names one package and the versions of it that are affected.
type Affected struct {
	Package           Package         `json:"package"`
	Ranges            []Range         `json:"ranges,omitempty"`
	Versions          []string        `json:"versions,omitempty"`
	Severity          []Severity      `json:"severity,omitempty"`
	EcosystemSpecific json.RawMessage `json:"ecosystem_specific,omitempty"`
	// DatabaseSpecific may carry a per-package severity word (GHSA, Ubuntu).
	DatabaseSpecific json.RawMessage `json:"database_specific,omitempty"`
}

// Package identifies a package within an ecosystem ("Go", "Debian:12", "Alpine:v3.20").
type Package struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	PURL      string `json:"purl,omitempty"`
}

// Range is a list of events over one version ordering.
type Range struct {
	Type   string  `json:"type"` // SEMVER, ECOSYSTEM or GIT (GIT ranges are ignored)
	Events []Event `json:"events"`
}

// Event is one boundary of a range; exactly one field is set.
type Event struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

// Parse decodes and validates one OSV record.
func Parse(data []byte) (*Record, error) {
	if len(data) > MaxRecordBytes {
		return nil, fmt.Errorf("osv record is %d bytes, larger than %d", len(data), MaxRecordBytes)
	}
	if !utf8.Valid(data) {
		return nil, errors.New("osv record is not valid UTF-8")
	}
	var r Record
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("decode osv record: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decode osv record: trailing data after the JSON object")
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

// Validate reports the first structural problem that would make matching wrong.
func (r *Record) Validate() error {
	if r.ID == "" {
		return errors.New("osv record has no id")
	}
	if len(r.ID) > 256 || strings.ContainsAny(r.ID, "/\\\x00") {
		return fmt.Errorf("osv record id %q is not a valid id", r.ID)
	}
	for i, a := range r.Affected {
		if a.Package.Name == "" || a.Package.Ecosystem == "" {
			return fmt.Errorf("osv record %s: affected[%d] has no package name or ecosystem", r.ID, i)
		}
		for j, rg := range a.Ranges {
			switch rg.Type {
			case "SEMVER", "ECOSYSTEM", "GIT":
			default:
				return fmt.Errorf("osv record %s: affected[%d].ranges[%d] has unknown type %q", r.ID, i, j, rg.Type)
			}
			for k, ev := range rg.Events {
				n := 0
				for _, s := range []string{ev.Introduced, ev.Fixed, ev.LastAffected, ev.Limit} {
					if s != "" {
						n++
					}
				}
				if n != 1 {
					return fmt.Errorf("osv record %s: affected[%d].ranges[%d].events[%d] must set exactly one of introduced, fixed, last_affected, limit", r.ID, i, j, k)
				}
			}
		}
	}
	return nil
}

// BaseEcosystem drops the release suffix: "Debian:12" → "Debian".
func BaseEcosystem(eco string) string {
	base, _, _ := strings.Cut(eco, ":")
	return base
}

// EcosystemMatches reports whether an advisory's ecosystem covers a package's.
// An advisory without a release suffix covers every release; a package whose
// release is unknown is matched against every release's advisories.
func EcosystemMatches(advisory, pkg string) bool {
	if advisory == pkg {
		return true
	}
	ab, as, _ := strings.Cut(advisory, ":")
	pb, ps, _ := strings.Cut(pkg, ":")
	if ab != pb {
		return false
	}
	return as == "" || ps == ""
}

// Match is the outcome of checking one version against one affected entry.
type Match struct {
	Affected bool
	// Fixed is the lowest fixed version above the checked one ("" when none is known).
	Fixed string
}

// Check decides whether version is affected by a, comparing with the rules of ecosystem.
func (a *Affected) Check(ecosystem, version string) (Match, error) {
	v, err := semantic.Parse(version, ecosystem)
	if err != nil {
		return Match{}, fmt.Errorf("parse %s version %q: %w", ecosystem, version, err)
	}
	for _, s := range a.Versions {
		if s == version {
			return Match{Affected: true, Fixed: a.lowestFixedAbove(ecosystem, v)}, nil
		}
	}
	for _, rg := range a.Ranges {
		if rg.Type == "GIT" {
			continue
		}
		if inRange(v, rg.Events) {
			return Match{Affected: true, Fixed: a.lowestFixedAbove(ecosystem, v)}, nil
		}
	}
	return Match{}, nil
}

// inRange walks the events in order. OSV says events of a range are evaluated
// sorted by version; real feeds list them sorted, and the Go and Debian feeds
// always do, so the written order is trusted and wrongly ordered ranges are
// evaluated as given.
func inRange(v semantic.Version, events []Event) bool {
	affected := false
	for _, ev := range events {
		switch {
		case ev.Introduced != "":
			if ev.Introduced == "0" {
				affected = true
				continue
			}
			if c, err := v.CompareStr(ev.Introduced); err == nil && c >= 0 {
				affected = true
			}
		case ev.Fixed != "":
			if c, err := v.CompareStr(ev.Fixed); err == nil && c >= 0 {
				affected = false
			} else if err == nil && affected {
				return true
			}
		case ev.LastAffected != "":
			if c, err := v.CompareStr(ev.LastAffected); err == nil && c > 0 {
				affected = false
			} else if err == nil && affected {
				return true
			}
		case ev.Limit != "":
			if c, err := v.CompareStr(ev.Limit); err == nil && c >= 0 {
				affected = false
			} else if err == nil && affected {
				return true
			}
		}
	}
	return affected
}

func (a *Affected) lowestFixedAbove(ecosystem string, v semantic.Version) string {
	best := ""
	var bestV semantic.Version
	for _, rg := range a.Ranges {
		if rg.Type == "GIT" {
			continue
		}
		for _, ev := range rg.Events {
			if ev.Fixed == "" {
				continue
			}
			if c, err := v.CompareStr(ev.Fixed); err != nil || c >= 0 {
				continue
			}
			if bestV != nil {
				if c, err := bestV.CompareStr(ev.Fixed); err != nil || c <= 0 {
					continue
				}
			}
			fv, err := semantic.Parse(ev.Fixed, ecosystem)
			if err != nil {
				continue
			}
			best, bestV = ev.Fixed, fv
		}
	}
	return best
}
