package anomaly

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"vigil/internal/monitor/series"
)

func gen(days int, r *rand.Rand) []series.Point {
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC).UnixMilli()
	var ps []series.Point
	for i := 0; i < days*288; i++ {
		t := start + int64(i)*300_000
		d := float64(t%86_400_000) / 86_400_000
		ps = append(ps, series.Point{T: t, V: 100 + 40*math.Sin(2*math.Pi*d) + r.NormFloat64()*2})
	}
	return ps
}

func TestColdStartSaysLearning(t *testing.T) {
	ps := gen(1, rand.New(rand.NewPCG(1, 1)))[:200] // under a day
	if _, err := Fit(ps); !errors.Is(err, ErrLearning) {
		t.Fatalf("err %v", err)
	}
}

func TestBandFollowsSeasonAndFlagsSpike(t *testing.T) {
	ps := gen(7, rand.New(rand.NewPCG(1, 2)))
	m, err := Fit(ps)
	if err != nil {
		t.Fatal(err)
	}
	last := ps[len(ps)-1].T
	for _, dt := range []int64{300_000, 6 * 3600_000, 12 * 3600_000} {
		t0 := last + dt
		d := float64(t0%86_400_000) / 86_400_000
		truth := 100 + 40*math.Sin(2*math.Pi*d)
		e, sg := m.Expected(t0)
		if math.Abs(e-truth) > 3 || sg > 4 || sg < 1 {
			t.Fatalf("at +%dms expected %.1f (truth %.1f) σ %.2f", dt, e, truth, sg)
		}
		if v := m.Check(t0, truth+1, Medium); v.Outside {
			t.Fatalf("normal value flagged: %+v", v)
		}
		if v := m.Check(t0, truth+40, Medium); !v.Outside || v.Score < 10 {
			t.Fatalf("spike not flagged: %+v", v)
		}
	}
}

func TestRobustToPastOutliers(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	ps := gen(7, r)
	for i := 500; i < 530; i++ {
		ps[i].V += 500 // a past incident
	}
	m, err := Fit(ps)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := m.Band(ps[len(ps)-1].T+300_000, Medium)
	if hi-lo > 30 {
		t.Fatalf("band %.1f–%.1f widened by a past incident", lo, hi)
	}
}

func TestSensitivity(t *testing.T) {
	if _, err := Sensitivity("max").Width(); err == nil {
		t.Fatal("accepted unknown sensitivity")
	}
	l, _ := Low.Width()
	h, _ := High.Width()
	if l <= h {
		t.Fatal("low sensitivity must have the wider band")
	}
}
