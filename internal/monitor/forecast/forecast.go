// Package forecast projects a series forward — a robust linear trend, plus the
// daily shape when there is enough history — and finds when it will cross a
// threshold.
package forecast

import (
	"errors"
	"math"
	"time"

	"vigil/internal/monitor/series"
)

const (
	day           = 24 * time.Hour
	bucketsPerDay = 48
	// MinHistory is the least history a projection is made from.
	MinHistory = 30 * time.Minute
	// minSeasonalHistory enables the daily profile.
	minSeasonalHistory = 2 * day
	maxTrendPoints     = 150
)

// ErrLearning means the history is too short to project.
var ErrLearning = errors.New("still learning: not enough history to forecast")

// Model is Value(t) = Intercept + Slope·(t−T0) + Profile[bucket(t)].
type Model struct {
	T0        int64
	Intercept float64
	Slope     float64 // per ms
	Profile   []float64
	Last      int64 // ms of the last sample
}

// Fit learns a projection from history.
func Fit(ps []series.Point) (*Model, error) {
	ps = series.Clean(ps)
	if len(ps) < 5 {
		return nil, ErrLearning
	}
	from, to := ps[0].T, ps[0].T
	for _, p := range ps {
		from, to = min(from, p.T), max(to, p.T)
	}
	if time.Duration(to-from)*time.Millisecond < MinHistory {
		return nil, ErrLearning
	}
	m := &Model{T0: from, Last: to}
	vals := make([]float64, len(ps))
	for i, p := range ps {
		vals[i] = p.V
	}
	if time.Duration(to-from)*time.Millisecond >= minSeasonalHistory {
		// Daily shape = median residual per half hour around a first trend line;
		// kept only when it stands out of the noise (a pure line has none).
		s0, i0 := theilSen(ps, vals, from)
		res := make([]float64, len(ps))
		byB := make([][]float64, bucketsPerDay)
		for i, p := range ps {
			res[i] = p.V - (i0 + s0*float64(p.T-from))
			byB[bucket(p.T)] = append(byB[bucket(p.T)], res[i])
		}
		prof := make([]float64, bucketsPerDay)
		lo, hi := math.Inf(1), math.Inf(-1)
		for b, xs := range byB {
			if len(xs) > 0 {
				prof[b] = series.Median(xs)
			}
			lo, hi = min(lo, prof[b]), max(hi, prof[b])
		}
		rest := make([]float64, len(ps))
		for i, p := range ps {
			rest[i] = res[i] - prof[bucket(p.T)]
		}
		noise := series.MAD(rest, series.Median(append([]float64(nil), rest...)))
		if hi-lo > 3*noise {
			m.Profile = prof
			for i, p := range ps {
				vals[i] = p.V - prof[bucket(p.T)]
			}
		}
	}
	m.Slope, m.Intercept = theilSen(ps, vals, from)
	return m, nil
}

// theilSen fits a line robustly on at most maxTrendPoints evenly spaced points.
func theilSen(ps []series.Point, vals []float64, t0 int64) (slope, intercept float64) {
	stride := max(1, len(ps)/maxTrendPoints)
	var xs, ys []float64
	for i := 0; i < len(ps); i += stride {
		xs = append(xs, float64(ps[i].T-t0))
		ys = append(ys, vals[i])
	}
	var slopes []float64
	for i := range xs {
		for j := i + 1; j < len(xs); j++ {
			if dx := xs[j] - xs[i]; dx != 0 {
				slopes = append(slopes, (ys[j]-ys[i])/dx)
			}
		}
	}
	if len(slopes) == 0 {
		return 0, series.Median(append([]float64(nil), ys...))
	}
	slope = series.Median(slopes)
	res := make([]float64, len(xs))
	for i := range xs {
		res[i] = ys[i] - slope*xs[i]
	}
	return slope, series.Median(res)
}

func bucket(t int64) int {
	d := t % day.Milliseconds()
	if d < 0 {
		d += day.Milliseconds()
	}
	return int(d / (day / bucketsPerDay).Milliseconds())
}

// At is the projected value at t (ms).
func (m *Model) At(t int64) float64 {
	v := m.Intercept + m.Slope*float64(t-m.T0)
	if m.Profile != nil {
		v += m.Profile[bucket(t)]
	}
	return v
}

// Crossing returns the first time after `from` within horizon at which the
// projection reaches threshold (above: ≥, else ≤), and whether it does.
func (m *Model) Crossing(from time.Time, horizon time.Duration, threshold float64, above bool) (time.Time, bool) {
	hit := func(v float64) bool {
		if above {
			return v >= threshold
		}
		return v <= threshold
	}
	start := from.UnixMilli()
	end := start + horizon.Milliseconds()
	if m.Profile == nil {
		// A line crosses at most once: solve it.
		if hit(m.At(start)) {
			return from, true
		}
		if m.Slope == 0 {
			return time.Time{}, false
		}
		t := float64(m.T0) + (threshold-m.Intercept)/m.Slope
		if t < float64(start) || t > float64(end) || math.IsNaN(t) {
			return time.Time{}, false
		}
		return time.UnixMilli(int64(t)), true
	}
	step := (5 * time.Minute).Milliseconds()
	for t := start; t <= end; t += step {
		if hit(m.At(t)) {
			// Refine within the step on the line part.
			return time.UnixMilli(t), true
		}
	}
	return time.Time{}, false
}
