package synth

import (
	"testing"
	"time"

	"vigil/internal/monitor/anomaly"
)

// TestQuality holds the anomaly model to the figures measured on generated
// series (bench/cmd/monitors prints the same report on more series):
// 12 series per kind, default sensitivity, 14 days of history, 2 points (10 min) outside the band.
func TestQuality(t *testing.T) {
	reps := Evaluate(1, 12, anomaly.Medium, 14*24*time.Hour, 2)
	by := map[string]Report{}
	for _, r := range reps {
		by[r.Kind] = r
		t.Logf("%-13s events %3d found %3d alerts %3d true %3d recall %.2f precision %.2f false/series-week %.2f",
			r.Kind, r.Events, r.Found, r.Alerts, r.TrueAlerts, r.Recall, r.Precision, r.FalsePerWeek)
	}
	if f := by[Clean].FalsePerWeek; f >= 1 {
		t.Errorf("clean seasonal data: %.2f false alarms per series-week, want < 1", f)
	}
	for kind, min := range map[string]float64{Spikes: 0.9, LevelShift: 0.9, TrendChange: 0.9, "all": 0.9} {
		if r := by[kind].Recall; r < min {
			t.Errorf("%s recall %.2f < %.2f", kind, r, min)
		}
	}
	if p := by["all"].Precision; p < 0.85 {
		t.Errorf("precision %.2f < 0.85", p)
	}
}

func TestGenerateLabelsOnlyTestWeek(t *testing.T) {
	for _, k := range Kinds {
		s := Generate(k, 42, 3*24*time.Hour)
		if got := len(s.Points); got != int(10*24*time.Hour/Step) {
			t.Fatalf("%s: %d points", k, got)
		}
		if (k == Clean) != (len(s.Events) == 0) {
			t.Fatalf("%s: %d events", k, len(s.Events))
		}
		for _, e := range s.Events {
			if e.Start < s.TestStart || e.End < e.Start {
				t.Fatalf("%s: event %+v outside the test week", k, e)
			}
		}
	}
}
