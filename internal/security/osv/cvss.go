package osv

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// Severity levels, ordered. Unknown sorts below Low: a record without a score
// is shown but never reaches a --severity threshold by itself.
const (
	SevUnknown  = "unknown"
	SevLow      = "low"
	SevMedium   = "medium"
	SevHigh     = "high"
	SevCritical = "critical"
)

// SeverityRank orders severity words; unrecognised words rank as unknown (0).
func SeverityRank(s string) int {
	switch strings.ToLower(s) {
	case SevLow:
		return 1
	case SevMedium, "moderate":
		return 2
	case SevHigh, "important":
		return 3
	case SevCritical:
		return 4
	}
	return 0
}

// NormalizeSeverity maps a feed's word to one of vigil's levels.
func NormalizeSeverity(s string) string {
	return [...]string{SevUnknown, SevLow, SevMedium, SevHigh, SevCritical}[SeverityRank(s)]
}

// SeverityFromScore rates a CVSS base score (CVSS v3.1 specification, section 5).
func SeverityFromScore(score float64) string {
	switch {
	case score >= 9:
		return SevCritical
	case score >= 7:
		return SevHigh
	case score >= 4:
		return SevMedium
	case score > 0:
		return SevLow
	}
	return SevUnknown
}

// CVSS3Score computes the base score of a CVSS v3.0/v3.1 vector such as
// "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".
func CVSS3Score(vector string) (float64, error) {
	if len(vector) > 256 {
		return 0, fmt.Errorf("cvss vector too long (%d bytes)", len(vector))
	}
	parts := strings.Split(vector, "/")
	if len(parts) < 1 || (parts[0] != "CVSS:3.0" && parts[0] != "CVSS:3.1") {
		return 0, fmt.Errorf("cvss vector %q: not a CVSS v3 vector", vector)
	}
	m := map[string]string{}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, ":")
		if !ok || k == "" || v == "" {
			return 0, fmt.Errorf("cvss vector %q: malformed metric %q", vector, p)
		}
		if _, dup := m[k]; dup {
			return 0, fmt.Errorf("cvss vector %q: metric %s given twice", vector, k)
		}
		m[k] = v
	}
	pick := func(metric string, vals map[string]float64) (float64, error) {
		v, ok := vals[m[metric]]
		if !ok {
			return 0, fmt.Errorf("cvss vector %q: missing or invalid %s", vector, metric)
		}
		return v, nil
	}
	var scopeChanged bool
	switch m["S"] {
	case "U":
	case "C":
		scopeChanged = true
	default:
		return 0, fmt.Errorf("cvss vector %q: missing or invalid S", vector)
	}
	cia := map[string]float64{"H": 0.56, "L": 0.22, "N": 0}
	prVals := map[string]float64{"N": 0.85, "L": 0.62, "H": 0.27}
	if scopeChanged {
		prVals = map[string]float64{"N": 0.85, "L": 0.68, "H": 0.5}
	}
	av, err := pick("AV", map[string]float64{"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2})
	if err != nil {
		return 0, err
	}
	ac, err := pick("AC", map[string]float64{"L": 0.77, "H": 0.44})
	if err != nil {
		return 0, err
	}
	pr, err := pick("PR", prVals)
	if err != nil {
		return 0, err
	}
	ui, err := pick("UI", map[string]float64{"N": 0.85, "R": 0.62})
	if err != nil {
		return 0, err
	}
	c, err := pick("C", cia)
	if err != nil {
		return 0, err
	}
	i, err := pick("I", cia)
	if err != nil {
		return 0, err
	}
	a, err := pick("A", cia)
	if err != nil {
		return 0, err
	}
	iss := 1 - (1-c)*(1-i)*(1-a)
	var impact float64
	if scopeChanged {
		impact = 7.52*(iss-0.029) - 3.25*math.Pow(iss-0.02, 15)
	} else {
		impact = 6.42 * iss
	}
	if impact <= 0 {
		return 0, nil
	}
	expl := 8.22 * av * ac * pr * ui
	if scopeChanged {
		return roundUp(math.Min(1.08*(impact+expl), 10)), nil
	}
	return roundUp(math.Min(impact+expl, 10)), nil
}

// roundUp is the CVSS v3.1 Roundup function, which avoids floating-point
// artefacts by working in integers.
func roundUp(x float64) float64 {
	n := int64(math.Round(x * 100000))
	if n%10000 == 0 {
		return float64(n) / 100000
	}
	return float64(n/10000+1) / 10
}

// Rating is a record's severity for one package: the CVSS v3 score when one
// is given (per package first, then for the record), otherwise the feed's word.
type Rating struct {
	Severity string  `json:"severity"`
	Score    float64 `json:"score,omitempty"`
	Vector   string  `json:"vector,omitempty"`
	// From names the alias record the rating was taken from, when the record
	// itself carries none (Go vulnerability database entries never do).
	From string `json:"from,omitempty"`
}

// Rated reports whether the rating is a known level.
func (r Rating) Rated() bool { return SeverityRank(r.Severity) > 0 }

// Better reports whether r outranks o: the higher level, then the higher score.
func (r Rating) Better(o Rating) bool {
	if a, b := SeverityRank(r.Severity), SeverityRank(o.Severity); a != b {
		return a > b
	}
	return r.Score > o.Score
}

// Rate derives the severity of r as it applies to a.
func (r *Record) Rate(a *Affected) Rating {
	for _, list := range [][]Severity{a.Severity, r.Severity} {
		for _, s := range list {
			if s.Type != "CVSS_V3" {
				continue
			}
			if score, err := CVSS3Score(s.Score); err == nil {
				return Rating{Severity: SeverityFromScore(score), Score: score, Vector: s.Score}
			}
		}
	}
	for _, raw := range []json.RawMessage{a.EcosystemSpecific, a.DatabaseSpecific, r.DatabaseSpecific} {
		var ds struct {
			Severity string `json:"severity"`
		}
		if len(raw) > 0 && json.Unmarshal(raw, &ds) == nil && SeverityRank(ds.Severity) > 0 {
			return Rating{Severity: NormalizeSeverity(ds.Severity)}
		}
	}
	return Rating{Severity: SevUnknown}
}

// UnratedRank orders records that carry no severity among themselves, since
// their level says nothing: 2 when the database's maintainers reviewed the
// record (the Go database marks imported, unchecked GHSA copies UNREVIEWED),
// plus 1 when it names the affected symbols, which makes the report precise.
// It is never compared with the rank of a level.
func (r *Record) UnratedRank(a *Affected) int {
	n := 0
	var ds struct {
		ReviewStatus string `json:"review_status"`
	}
	if len(r.DatabaseSpecific) > 0 && json.Unmarshal(r.DatabaseSpecific, &ds) == nil && ds.ReviewStatus == "REVIEWED" {
		n += 2
	}
	var es struct {
		Imports []struct {
			Symbols []string `json:"symbols"`
		} `json:"imports"`
	}
	if a != nil && len(a.EcosystemSpecific) > 0 && json.Unmarshal(a.EcosystemSpecific, &es) == nil {
		for _, im := range es.Imports {
			if len(im.Symbols) > 0 {
				n++
				break
			}
		}
	}
	return n
}
