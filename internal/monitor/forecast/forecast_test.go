package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"vigil/internal/monitor/series"
)

func TestLinearCrossing(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(1, 1))
	var ps []series.Point
	for i := 0; i < 12*24; i++ { // 1 day, 5-minute steps: 1 %/hour from 20 %
		ts := start.Add(time.Duration(i) * 5 * time.Minute)
		ps = append(ps, series.Point{T: ts.UnixMilli(), V: 20 + float64(i)/12 + r.NormFloat64()*0.2})
	}
	ps[100].V = 99 // an outlier must not bend the line
	m, err := Fit(ps)
	if err != nil {
		t.Fatal(err)
	}
	now := start.Add(24 * time.Hour)
	at, ok := m.Crossing(now, 7*24*time.Hour, 90, true)
	want := start.Add(70 * time.Hour)
	if !ok || math.Abs(at.Sub(want).Hours()) > 2 {
		t.Fatalf("crossing %v %v, want about %v", at, ok, want)
	}
	if _, ok := m.Crossing(now, 24*time.Hour, 90, true); ok {
		t.Fatal("crossing reported beyond the horizon")
	}
	if _, ok := m.Crossing(now, 7*24*time.Hour, 10, false); ok {
		t.Fatal("a rising series must not cross a lower threshold downward")
	}
}

func TestSeasonalCrossing(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ps []series.Point
	for i := 0; i < 12*24*5; i++ { // 5 days; 2 %/day trend plus a ±10 daily swing peaking at 06:00
		ts := start.Add(time.Duration(i) * 5 * time.Minute)
		d := float64(i) / (12 * 24)
		ps = append(ps, series.Point{T: ts.UnixMilli(), V: 50 + 2*d + 10*math.Sin(2*math.Pi*d)})
	}
	m, err := Fit(ps)
	if err != nil || m.Profile == nil {
		t.Fatalf("fit %v profile %v", err, m.Profile != nil)
	}
	now := start.Add(5 * 24 * time.Hour)
	at, ok := m.Crossing(now, 7*24*time.Hour, 68, true)
	// 50+2d+10 ≥ 68 first at a daily peak (06:00) once 2d ≥ 8, i.e. day 4 … already past; so threshold 72: day 6 peak.
	if !ok || at.Hour() < 3 || at.Hour() > 9 {
		t.Fatalf("seasonal crossing %v %v, want near a 06:00 peak", at, ok)
	}
}

func TestNeedsHistory(t *testing.T) {
	if _, err := Fit([]series.Point{{T: 0, V: 1}, {T: 1000, V: 2}}); err == nil {
		t.Fatal("fitted two points")
	}
}
