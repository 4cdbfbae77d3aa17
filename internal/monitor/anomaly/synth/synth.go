// Package synth generates labelled time series — daily and weekly seasonality,
// trend, noise, spikes, level shifts and trend changes — and measures how well
// the anomaly model finds the labelled anomalies.
package synth

import (
	"math"
	"math/rand/v2"
	"time"

	"vigil/internal/monitor/anomaly"
	"vigil/internal/monitor/series"
)

// Kinds of generated series.
const (
	Clean       = "clean"        // seasonality, trend and noise only
	Spikes      = "spikes"       // short excursions
	LevelShift  = "level-shift"  // a lasting step
	TrendChange = "trend-change" // the slope changes
)

// Kinds lists every kind.
var Kinds = []string{Clean, Spikes, LevelShift, TrendChange}

// Event is a labelled anomaly: detection anywhere in [Start, End] counts.
type Event struct {
	Kind       string
	Start, End int64 // ms
}

// Series is a generated series with its labelled anomalies (in the test part only).
type Series struct {
	Kind      string
	Points    []series.Point
	TestStart int64 // ms; the points before it are history to learn from
	Events    []Event
}

// Step is the resolution of generated series.
const Step = 5 * time.Minute

// Generate makes one series: `train` of history then one week under test.
func Generate(kind string, seed uint64, train time.Duration) Series {
	r := rand.New(rand.NewPCG(seed, seed*7919+1))
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(24*12)) * Step)
	n := int((train + 7*24*time.Hour) / Step)
	testStart := start.Add(train).UnixMilli()
	base := 50 + r.Float64()*500
	daily := base * (0.1 + 0.5*r.Float64())
	weekly := base * 0.15 * r.Float64()
	trend := base * (r.Float64() - 0.5) * 0.02 / 24 // up to ±1 % of base per day
	noise := base * (0.01 + 0.04*r.Float64())
	multiplicative := r.IntN(2) == 0
	phase := r.Float64() * 2 * math.Pi
	s := Series{Kind: kind, TestStart: testStart}
	vals := make([]float64, n)
	for i := range n {
		t := start.Add(time.Duration(i) * Step)
		h := float64(t.Sub(start)) / float64(time.Hour)
		dayFrac := float64(t.Hour()*60+t.Minute()) / 1440
		season := daily*math.Sin(2*math.Pi*dayFrac+phase) + 0.3*daily*math.Sin(4*math.Pi*dayFrac)
		if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
			season -= weekly
		}
		level := base + trend*h + season
		sd := noise
		if multiplicative {
			sd = noise * math.Max(level, base*0.2) / base
		}
		vals[i] = level + r.NormFloat64()*sd
	}
	testIdx := int(train / Step)
	testLen := n - testIdx
	switch kind {
	case Spikes:
		for range 3 + r.IntN(3) {
			at := testIdx + 12 + r.IntN(testLen-24)
			width := 2 + r.IntN(3) // 10–20 minutes
			size := noise * (8 + 8*r.Float64())
			if r.IntN(3) == 0 {
				size = -size
			}
			for j := at; j < at+width && j < n; j++ {
				vals[j] += size
			}
			s.Events = append(s.Events, Event{Kind: kind, Start: ms(start, at), End: ms(start, at+width)})
		}
	case LevelShift:
		at := testIdx + 24 + r.IntN(testLen/2)
		size := noise * (8 + 8*r.Float64())
		if r.IntN(2) == 0 {
			size = -size
		}
		for j := at; j < n; j++ {
			vals[j] += size
		}
		s.Events = append(s.Events, Event{Kind: kind, Start: ms(start, at), End: ms(start, at+24)}) // 2 h to notice
	case TrendChange:
		at := testIdx + 24 + r.IntN(testLen/2)
		// New slope adds 10 noise σ every 6 hours.
		extra := noise * 10 / 6
		if r.IntN(2) == 0 {
			extra = -extra
		}
		for j := at; j < n; j++ {
			vals[j] += extra * float64(j-at) * Step.Hours()
		}
		s.Events = append(s.Events, Event{Kind: kind, Start: ms(start, at), End: ms(start, at+12*12)}) // 12 h to notice
	}
	s.Points = make([]series.Point, n)
	for i, v := range vals {
		s.Points[i] = series.Point{T: ms(start, i), V: v}
	}
	return s
}

func ms(start time.Time, i int) int64 { return start.Add(time.Duration(i) * Step).UnixMilli() }

// Alert is one alert episode: consecutive points outside the band.
type Alert struct{ Start, End int64 }

// Detect replays the test part of s as a monitor would: the model is refitted
// every hour on the history before it (at most `train`), and an alert starts
// once `need` consecutive points fall outside the band.
func Detect(s Series, sens anomaly.Sensitivity, train time.Duration, need int) []Alert {
	var alerts []Alert
	var model *anomaly.Model
	var fitAt int64
	fitted := false
	run := 0
	in := false
	for i, p := range s.Points {
		if p.T < s.TestStart {
			continue
		}
		if !fitted || p.T-fitAt >= time.Hour.Milliseconds() {
			fitted = true
			lo := 0
			for lo < i && s.Points[lo].T < p.T-train.Milliseconds() {
				lo++
			}
			model, _ = anomaly.Fit(s.Points[lo:i])
			fitAt = p.T
		}
		if model == nil {
			continue
		}
		if model.Check(p.T, p.V, sens).Outside {
			run++
		} else {
			run = 0
			in = false
		}
		if run >= need {
			if !in {
				alerts = append(alerts, Alert{Start: p.T, End: p.T})
				in = true
			}
			alerts[len(alerts)-1].End = p.T
		}
	}
	return alerts
}

// Report is the quality of detection over a set of series.
type Report struct {
	Kind               string
	Series             int
	Events, Found      int
	Alerts, TrueAlerts int
	Recall, Precision  float64
	// FalsePerWeek is false alert episodes per series-week.
	FalsePerWeek float64
}

// Evaluate generates `per` series of each kind and scores detection.
func Evaluate(seed uint64, per int, sens anomaly.Sensitivity, train time.Duration, need int) []Report {
	var out []Report
	total := Report{Kind: "all"}
	for ki, kind := range Kinds {
		rep := Report{Kind: kind, Series: per}
		for i := range per {
			s := Generate(kind, seed+uint64(ki*100000+i), train)
			alerts := Detect(s, sens, train, need)
			rep.Events += len(s.Events)
			for _, ev := range s.Events {
				for _, a := range alerts {
					if a.Start <= ev.End && a.End >= ev.Start {
						rep.Found++
						break
					}
				}
			}
			grace := (6 * time.Hour).Milliseconds() // the band re-learns a new level in hours
			for _, a := range alerts {
				rep.Alerts++
				for _, ev := range s.Events {
					if a.Start <= ev.End+grace && a.End >= ev.Start {
						rep.TrueAlerts++
						break
					}
				}
			}
		}
		rep.finish()
		out = append(out, rep)
		total.Series += rep.Series
		total.Events += rep.Events
		total.Found += rep.Found
		total.Alerts += rep.Alerts
		total.TrueAlerts += rep.TrueAlerts
	}
	total.finish()
	return append(out, total)
}

func (r *Report) finish() {
	r.Recall, r.Precision = 1, 1
	if r.Events > 0 {
		r.Recall = float64(r.Found) / float64(r.Events)
	}
	if r.Alerts > 0 {
		r.Precision = float64(r.TrueAlerts) / float64(r.Alerts)
	}
	if r.Series > 0 {
		r.FalsePerWeek = float64(r.Alerts-r.TrueAlerts) / float64(r.Series)
	}
}
