package vuln

import (
	"slices"
	"strings"
	"time"

	"vigil/internal/security/osv"
)

// ClusterScan is the vulnerability state of the images running in a cluster,
// as the in-cluster scanner last stored it: what reports are built from.
type ClusterScan struct {
	Time     time.Time        `json:"time"`
	DB       DBInfo           `json:"db"`
	Images   []ClusterImage   `json:"images"`
	Findings []ClusterFinding `json:"findings"`
}

// ClusterImage is one image digest that running containers use.
type ClusterImage struct {
	// Image is the name the pods give it (the first in order when several do).
	Image string `json:"image"`
	// Repository is Image without tag or digest: a rebuilt image keeps it.
	Repository string `json:"repository"`
	Digest     string `json:"digest"`
	Status     string `json:"status"` // pending, scanning, done, error
	Error      string `json:"error,omitempty"`
	// Scanned is set when findings are stored for the digest (possibly from
	// an earlier scan while a new one is pending).
	Scanned    bool      `json:"scanned"`
	ScannedAt  time.Time `json:"scannedAt,omitzero"`
	Containers int       `json:"containers"`
}

// ClusterFinding is one vulnerability of one package in one running image.
type ClusterFinding struct {
	Image      string  `json:"image"`
	Repository string  `json:"repository"`
	Digest     string  `json:"digest"`
	Package    string  `json:"package"`
	Version    string  `json:"version"`
	Fixed      string  `json:"fixed,omitempty"`
	ID         string  `json:"id"`
	Severity   string  `json:"severity"`
	Score      float64 `json:"score,omitempty"`
	Summary    string  `json:"summary,omitempty"`
	Containers int     `json:"containers"`
}

// Key identifies a finding from one report to the next: the repository, not
// the digest, so a rebuilt image that still has the bug keeps the finding,
// and the package without its version, so an upgrade that misses the fix
// does too.
func (f ClusterFinding) Key() string {
	return f.Repository + "\x00" + f.Package + "\x00" + f.ID
}

// SortClusterFindings orders findings by severity, score, image, package, id.
func SortClusterFindings(fs []ClusterFinding) {
	slices.SortStableFunc(fs, func(a, b ClusterFinding) int {
		if c := worseFirst(a.Severity, a.Score, b.Severity, b.Score); c != 0 {
			return c
		}
		for _, c := range []int{strings.Compare(a.Image, b.Image), strings.Compare(a.Package, b.Package), strings.Compare(a.ID, b.ID), strings.Compare(a.Digest, b.Digest)} {
			if c != 0 {
				return c
			}
		}
		return 0
	})
}

// ClusterSummary is the headline of a ClusterScan.
type ClusterSummary struct {
	// Counts are findings by severity (every level present).
	Counts     map[string]int `json:"countsBySeverity"`
	Findings   int            `json:"findings"`
	Fixable    int            `json:"fixable"`
	Images     int            `json:"images"`
	Scanned    int            `json:"scanned"`
	Failed     int            `json:"failed"` // the last scan failed and no earlier result exists
	Containers int            `json:"containers"`
	TopImages  []ImageCount   `json:"topImages"`
	// TopFixable are the advisories with a fixed version, most severe and
	// widespread first: the upgrades that pay most.
	TopFixable []AdvisoryCount `json:"topFixable"`
}

// ImageCount is one image's findings.
type ImageCount struct {
	Image      string         `json:"image"`
	Digest     string         `json:"digest"`
	Counts     map[string]int `json:"countsBySeverity"`
	Findings   int            `json:"findings"`
	Fixable    int            `json:"fixable"`
	Containers int            `json:"containers"`
}

// AdvisoryCount is one advisory across the running images.
type AdvisoryCount struct {
	ID         string   `json:"id"`
	Severity   string   `json:"severity"`
	Score      float64  `json:"score,omitempty"`
	Summary    string   `json:"summary,omitempty"`
	Images     int      `json:"images"`
	Containers int      `json:"containers"`
	Packages   []string `json:"packages"`
	Fixed      []string `json:"fixed"`
}

// Risk weighs findings by severity; it orders images (the weights the
// vulnerability pages use).
func Risk(c map[string]int) float64 {
	return float64(c[osv.SevCritical])*100 + float64(c[osv.SevHigh])*10 + float64(c[osv.SevMedium]) +
		float64(c[osv.SevLow])*0.1 + float64(c[osv.SevUnknown])*0.5
}

func newCounts() map[string]int {
	return map[string]int{osv.SevCritical: 0, osv.SevHigh: 0, osv.SevMedium: 0, osv.SevLow: 0, osv.SevUnknown: 0}
}

// Summarize counts a scan's findings and ranks its images and fixable
// advisories, keeping top of each.
func Summarize(c *ClusterScan, top int) ClusterSummary {
	s := ClusterSummary{Counts: newCounts(), Images: len(c.Images), Findings: len(c.Findings), TopImages: []ImageCount{}, TopFixable: []AdvisoryCount{}}
	imgs := map[string]*ImageCount{}
	var order []string
	for _, im := range c.Images {
		s.Containers += im.Containers
		switch {
		case im.Scanned:
			s.Scanned++
		case im.Status == "error":
			s.Failed++
		}
		if imgs[im.Digest] == nil {
			imgs[im.Digest] = &ImageCount{Image: im.Image, Digest: im.Digest, Counts: newCounts(), Containers: im.Containers}
			order = append(order, im.Digest)
		}
	}
	advs := map[string]*AdvisoryCount{}
	advImages := map[string]map[string]bool{}
	for _, f := range c.Findings {
		sev := osv.NormalizeSeverity(f.Severity)
		s.Counts[sev]++
		ic := imgs[f.Digest]
		if ic == nil {
			ic = &ImageCount{Image: f.Image, Digest: f.Digest, Counts: newCounts(), Containers: f.Containers}
			imgs[f.Digest] = ic
			order = append(order, f.Digest)
		}
		ic.Counts[sev]++
		ic.Findings++
		if f.Fixed == "" {
			continue
		}
		s.Fixable++
		ic.Fixable++
		a := advs[f.ID]
		if a == nil {
			a = &AdvisoryCount{ID: f.ID, Severity: sev, Summary: f.Summary}
			advs[f.ID] = a
			advImages[f.ID] = map[string]bool{}
		}
		if osv.SeverityRank(sev) > osv.SeverityRank(a.Severity) {
			a.Severity = sev
		}
		a.Score = max(a.Score, f.Score)
		if !advImages[f.ID][f.Digest] {
			advImages[f.ID][f.Digest] = true
			a.Images++
			a.Containers += f.Containers
		}
		if !slices.Contains(a.Packages, f.Package) {
			a.Packages = append(a.Packages, f.Package)
		}
		if !slices.Contains(a.Fixed, f.Fixed) {
			a.Fixed = append(a.Fixed, f.Fixed)
		}
	}
	for _, d := range order {
		if ic := imgs[d]; ic.Findings > 0 {
			s.TopImages = append(s.TopImages, *ic)
		}
	}
	slices.SortStableFunc(s.TopImages, func(a, b ImageCount) int {
		if ra, rb := Risk(a.Counts), Risk(b.Counts); ra != rb {
			if rb > ra {
				return 1
			}
			return -1
		}
		return strings.Compare(a.Image, b.Image)
	})
	for _, a := range advs {
		slices.Sort(a.Packages)
		slices.Sort(a.Fixed)
		s.TopFixable = append(s.TopFixable, *a)
	}
	slices.SortFunc(s.TopFixable, func(a, b AdvisoryCount) int {
		if c := osv.SeverityRank(b.Severity) - osv.SeverityRank(a.Severity); c != 0 {
			return c
		}
		if a.Containers != b.Containers {
			return b.Containers - a.Containers
		}
		if a.Score != b.Score {
			if b.Score > a.Score {
				return 1
			}
			return -1
		}
		return strings.Compare(a.ID, b.ID)
	})
	if top > 0 {
		s.TopImages = s.TopImages[:min(top, len(s.TopImages))]
		s.TopFixable = s.TopFixable[:min(top, len(s.TopFixable))]
	}
	return s
}
