// Package series holds the small numeric helpers the monitor models share.
package series

import (
	"math"
	"slices"
)

// Point is one sample: milliseconds since the epoch and a value.
type Point struct {
	T int64
	V float64
}

// Median of xs (NaN when empty). xs is reordered.
func Median(xs []float64) float64 {
	n := len(xs)
	if n == 0 {
		return math.NaN()
	}
	slices.Sort(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// MAD is the median absolute deviation from m, scaled to estimate a normal
// distribution's standard deviation.
func MAD(xs []float64, m float64) float64 {
	d := make([]float64, len(xs))
	for i, x := range xs {
		d[i] = math.Abs(x - m)
	}
	return 1.4826 * Median(d)
}

// Clean drops NaN and infinite samples, which PromQL can return.
func Clean(ps []Point) []Point {
	out := ps[:0:0]
	for _, p := range ps {
		if !math.IsNaN(p.V) && !math.IsInf(p.V, 0) {
			out = append(out, p)
		}
	}
	return out
}
