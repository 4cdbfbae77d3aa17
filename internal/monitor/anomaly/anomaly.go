// Package anomaly learns a series' normal behaviour — trend plus daily and
// weekly seasonality — from its history, robustly (medians, not means, so past
// incidents do not widen the band), and says whether a value falls outside it.
package anomaly

import (
	"errors"
	"fmt"
	"math"
	"time"

	"vigil/internal/monitor/series"
)

// Sensitivity widens or narrows the band.
type Sensitivity string

const (
	Low    Sensitivity = "low"
	Medium Sensitivity = "medium" // the default
	High   Sensitivity = "high"
)

// Width is the band's half-width in robust standard deviations.
func (s Sensitivity) Width() (float64, error) {
	switch s {
	case Low:
		return 6, nil
	case Medium, "":
		return 4.5, nil
	case High:
		return 3, nil
	}
	return 0, fmt.Errorf("unknown sensitivity %q (low, medium, high)", s)
}

const (
	day  = 24 * time.Hour
	week = 7 * day
	// bucketsPerDay is the resolution of the seasonal profile (30 minutes).
	bucketsPerDay = 48
	// MinHistory is how much history a model needs before it judges values.
	MinHistory = 24 * time.Hour
	// minWeeklyHistory enables the weekly profile (two full weeks so every
	// weekday has been seen twice).
	minWeeklyHistory = 13 * day
	// recentWindow is where the model measures today's level against the
	// profile, so a lasting level shift becomes the new normal after a while.
	recentWindow = 12 * time.Hour
)

// ErrLearning means the history is too short to judge yet.
var ErrLearning = errors.New("still learning: less than a day of history")

// Model is a fitted normal: Expected(t) = Profile[bucket(t)] + Slope·(t−T0) + Offset.
type Model struct {
	T0     int64   // ms; trend origin
	Slope  float64 // per ms
	Offset float64 // recent level correction at To
	// OffsetSlope is the recent drift (per ms) beyond the long-term trend.
	OffsetSlope float64
	Profile     []float64 // seasonal level per bucket
	Scale       []float64 // robust σ per bucket
	Weekly      bool
	From        int64 // ms; first sample used
	To          int64 // ms; last sample used
}

// Fit learns the model from history (any order of timestamps, gaps allowed).
func Fit(ps []series.Point) (*Model, error) {
	ps = series.Clean(ps)
	if len(ps) < 24 {
		return nil, ErrLearning
	}
	from, to := ps[0].T, ps[0].T
	for _, p := range ps {
		from, to = min(from, p.T), max(to, p.T)
	}
	span := time.Duration(to-from) * time.Millisecond
	if span < MinHistory-time.Hour { // a little slack for scrape jitter
		return nil, ErrLearning
	}
	m := &Model{T0: from, From: from, To: to, Weekly: span >= minWeeklyHistory}
	all := ps
	if span >= 2*day {
		// Learn the shape from older data only; the recent window sets the
		// level (Offset), so a fresh shift is not half-absorbed into the profile.
		var old []series.Point
		for _, p := range ps {
			if p.T < to-recentWindow.Milliseconds() {
				old = append(old, p)
			}
		}
		ps = old
	}
	m.Slope = trendSlope(ps, from)
	nb := bucketsPerDay
	if m.Weekly {
		nb *= 7
	}
	byBucket := make([][]float64, nb)
	for _, p := range ps {
		b := m.bucket(p.T)
		byBucket[b] = append(byBucket[b], p.V-m.Slope*float64(p.T-from))
	}
	m.Profile = make([]float64, nb)
	var resAll []float64
	for b, xs := range byBucket {
		m.Profile[b] = series.Median(append([]float64(nil), xs...))
	}
	fillGaps(m.Profile)
	// Residuals give the scale of normal noise, per bucket (noise often
	// follows the daily rhythm) and overall.
	res := make([][]float64, nb)
	var absLevel []float64
	for _, p := range ps {
		b := m.bucket(p.T)
		r := p.V - m.Slope*float64(p.T-from) - m.Profile[b]
		res[b] = append(res[b], r)
		resAll = append(resAll, r)
		absLevel = append(absLevel, math.Abs(p.V))
	}
	global := series.MAD(resAll, series.Median(append([]float64(nil), resAll...)))
	floor := 1e-9 + 0.002*series.Median(absLevel)
	m.Scale = make([]float64, nb)
	for b, rs := range res {
		s := math.NaN()
		if len(rs) >= 3 {
			s = series.MAD(rs, series.Median(append([]float64(nil), rs...)))
		}
		if math.IsNaN(s) {
			s = global
		}
		// Few samples per bucket under-estimate σ; never go far below the global scale.
		m.Scale[b] = max(s, 0.6*global, floor)
	}
	// Today's level (and drift) relative to the profile: a robust line through
	// the recent residuals, so a lasting shift or a new trend becomes the new
	// normal after a few hours instead of alarming for days.
	var rt, rv []float64
	for _, p := range all {
		if p.T >= to-recentWindow.Milliseconds() {
			rt = append(rt, float64(p.T-to))
			rv = append(rv, p.V-m.expectedNoOffset(p.T))
		}
	}
	if len(rv) >= 12 {
		slope := theilSen(rt, rv)
		res := make([]float64, len(rv))
		for i := range rv {
			res[i] = rv[i] - slope*rt[i]
		}
		off := series.Median(res)
		// A step inside the window also tilts the line: keep the slope only if
		// it predicts the last two hours better than a flat level does.
		flat := series.Median(append([]float64(nil), rv...))
		var eLine, eFlat []float64
		for i := range rv {
			if rt[i] >= -float64((2 * time.Hour).Milliseconds()) {
				eLine = append(eLine, math.Abs(rv[i]-off-slope*rt[i]))
				eFlat = append(eFlat, math.Abs(rv[i]-flat))
			}
		}
		if len(eLine) > 0 && series.Median(eFlat) <= series.Median(eLine) {
			off, slope = flat, 0
		}
		// Correct only for a real shift or drift; a small one is noise and would bias the band.
		if math.Abs(off) > 2*global || math.Abs(slope)*float64(recentWindow.Milliseconds()) > 3*global {
			m.Offset, m.OffsetSlope = off, slope
		}
	}
	return m, nil
}

// trendSlope is a Theil–Sen slope over hourly medians, pairing only points a
// whole number of days apart so the daily shape cancels out.
func trendSlope(ps []series.Point, from int64) float64 {
	hour := time.Hour.Milliseconds()
	hours := map[int64][]float64{}
	for _, p := range ps {
		h := (p.T - from) / hour
		hours[h] = append(hours[h], p.V)
	}
	med := map[int64]float64{}
	var maxH int64
	for h, xs := range hours {
		med[h] = series.Median(xs)
		maxH = max(maxH, h)
	}
	var slopes []float64
	for h, v := range med {
		for k := int64(24); h+k <= maxH; k += 24 {
			if w, ok := med[h+k]; ok {
				slopes = append(slopes, (w-v)/float64(k*hour))
			}
		}
	}
	if len(slopes) < 12 {
		return 0
	}
	return series.Median(slopes)
}

// theilSen is the median of pairwise slopes over at most 150 evenly spaced points.
func theilSen(xs, ys []float64) float64 {
	stride := max(1, len(xs)/150)
	var slopes []float64
	for i := 0; i < len(xs); i += stride {
		for j := i + stride; j < len(xs); j += stride {
			if dx := xs[j] - xs[i]; dx != 0 {
				slopes = append(slopes, (ys[j]-ys[i])/dx)
			}
		}
	}
	if len(slopes) == 0 {
		return 0
	}
	return series.Median(slopes)
}

func fillGaps(xs []float64) {
	for i := range xs {
		if !math.IsNaN(xs[i]) {
			continue
		}
		for d := 1; d < len(xs); d++ {
			if v := xs[(i+d)%len(xs)]; !math.IsNaN(v) {
				xs[i] = v
				break
			}
			if v := xs[(i-d+len(xs))%len(xs)]; !math.IsNaN(v) {
				xs[i] = v
				break
			}
		}
	}
}

func (m *Model) bucket(t int64) int {
	bucketMs := (day / bucketsPerDay).Milliseconds()
	if m.Weekly {
		// Weeks aligned to Monday 00:00 UTC (the epoch was a Thursday).
		w := (t + 3*day.Milliseconds()) % week.Milliseconds()
		if w < 0 {
			w += week.Milliseconds()
		}
		return int(w / bucketMs)
	}
	d := t % day.Milliseconds()
	if d < 0 {
		d += day.Milliseconds()
	}
	return int(d / bucketMs)
}

func (m *Model) expectedNoOffset(t int64) float64 {
	return m.Profile[m.bucket(t)] + m.Slope*float64(t-m.T0)
}

// Expected is the normal value at t (ms) and the robust σ around it.
func (m *Model) Expected(t int64) (value, sigma float64) {
	// Extrapolate the recent drift by at most an hour (models are refitted hourly).
	dt := float64(min(max(t-m.To, -recentWindow.Milliseconds()), time.Hour.Milliseconds()))
	return m.expectedNoOffset(t) + m.Offset + m.OffsetSlope*dt, m.Scale[m.bucket(t)]
}

// Band is the normal range at t for a sensitivity.
func (m *Model) Band(t int64, s Sensitivity) (lo, hi float64) {
	w, err := s.Width()
	if err != nil {
		w = 4.5
	}
	e, sg := m.Expected(t)
	return e - w*sg, e + w*sg
}

// Verdict says how far outside the band a value is.
type Verdict struct {
	Expected, Lower, Upper float64
	Score                  float64 // (v − expected) / σ
	Outside                bool
}

// Check judges v at t.
func (m *Model) Check(t int64, v float64, s Sensitivity) Verdict {
	e, sg := m.Expected(t)
	lo, hi := m.Band(t, s)
	return Verdict{Expected: e, Lower: lo, Upper: hi, Score: (v - e) / sg, Outside: v < lo || v > hi}
}
