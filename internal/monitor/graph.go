package monitor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"maps"
	"math"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"

	"vigil/internal/monitor/anomaly"
	"vigil/internal/monitor/forecast"
)

// GraphSpec is what a notification graph shows.
type GraphSpec struct {
	Query      string
	Labels     map[string]string // the series to draw; nil draws every series (up to 8)
	From, To   time.Time         // To may lie in the future for a projection
	Now        time.Time
	Thresholds []float64
	Anomaly    *anomaly.Model
	Sense      anomaly.Sensitivity
	Forecast   *forecast.Model
	Width      int
	Height     int
	// Warning is drawn in amber, the other thresholds in red.
	Warning *float64
	zoomed  bool
}

// Graph renders the monitor's series around now as a PNG.
func (e *Engine) Graph(ctx context.Context, m *Monitor, lb map[string]string, now time.Time, _ AlertData) ([]byte, error) {
	spec := GraphSpec{Query: m.Query, Labels: lb, From: now.Add(-time.Hour), To: now, Now: now, Warning: m.Warning}
	for _, t := range []*float64{m.Warning, m.Critical} {
		if t != nil {
			spec.Thresholds = append(spec.Thresholds, *t)
		}
	}
	e.mu.Lock()
	rt := e.monitors[m.ID]
	e.mu.Unlock()
	var model any
	if rt != nil && rt.models != nil { // the caller holds rt.mu
		model = rt.models[keyOf(lb)]
	}
	switch m.Kind {
	case KindLog:
		return nil, errors.New("log monitors have no metric graph")
	case KindAnomaly:
		spec.From = now.Add(-6 * time.Hour)
		spec.Anomaly, _ = model.(*anomaly.Model)
		spec.Sense = m.Sensitivity
		spec.Thresholds = nil
	case KindForecast:
		spec.From = now.Add(-min(m.Training.D(), 3*24*time.Hour))
		spec.Forecast, _ = model.(*forecast.Model)
		spec.To = now.Add(min(m.Horizon.D(), now.Sub(spec.From)))
	}
	return e.RenderGraph(ctx, spec)
}

// keyOf is the series key of a label set (as promql's Labels.String()).
func keyOf(lb map[string]string) string {
	return labels.FromMap(lb).String()
}

// RenderGraph draws spec as a PNG.
func (e *Engine) RenderGraph(ctx context.Context, spec GraphSpec) ([]byte, error) {
	if spec.Width == 0 {
		spec.Width, spec.Height = 720, 260
	}
	end := spec.To
	if spec.Now.Before(end) {
		end = spec.Now
	}
	if !end.After(spec.From) {
		return nil, errors.New("empty time range")
	}
	step := max(end.Sub(spec.From)/300, time.Second)
	res, err := e.Metrics.QueryRange(ctx, spec.Query, spec.From, end, step)
	if err != nil {
		return nil, fmt.Errorf("graph query: %w", err)
	}
	mat, _ := res.Value.(promql.Matrix)
	// A series younger than the window would sit squeezed against the right
	// edge: zoom to where the data starts.
	first := end.UnixMilli()
	for _, s := range mat {
		if len(s.Floats) > 0 && (spec.Labels == nil || maps.Equal(s.Metric.Map(), spec.Labels)) {
			first = min(first, s.Floats[0].T)
		}
	}
	if span := end.Sub(spec.From); !spec.zoomed && time.UnixMilli(first).Sub(spec.From) > span/5 {
		from := time.UnixMilli(first)
		from = from.Add(-max(end.Sub(from)/10, time.Minute))
		if spec.To.After(spec.Now) { // keep the projection in proportion
			spec.To = spec.Now.Add(spec.Now.Sub(from))
		}
		spec.From, spec.zoomed = from, true
		return e.RenderGraph(ctx, spec)
	}
	var lines [][]promql.FPoint
	for _, s := range mat {
		if spec.Labels != nil && !maps.Equal(s.Metric.Map(), spec.Labels) {
			continue
		}
		lines = append(lines, s.Floats)
		if len(lines) == 8 {
			break
		}
	}
	return drawGraph(spec, lines), nil
}

var (
	colBG     = color.RGBA{255, 255, 255, 255}
	colGrid   = color.RGBA{230, 233, 237, 255}
	colAxis   = color.RGBA{87, 96, 106, 255}
	colBand   = color.RGBA{203, 224, 250, 255}
	colThresh = color.RGBA{207, 34, 46, 255}
	colWarn   = color.RGBA{191, 135, 0, 255}
	colProj   = color.RGBA{130, 80, 223, 255}
	colNow    = color.RGBA{150, 150, 150, 255}
	palette   = []color.RGBA{{9, 105, 218, 255}, {26, 127, 55, 255}, {191, 135, 0, 255}, {130, 80, 223, 255}, {207, 34, 46, 255}, {27, 124, 131, 255}, {188, 76, 0, 255}, {87, 96, 106, 255}}
)

func drawGraph(spec GraphSpec, lines [][]promql.FPoint) []byte {
	w, h := spec.Width, spec.Height
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fill(img, img.Bounds(), colBG)
	const left, right, top, bottom = 56, 12, 10, 22
	pw, ph := w-left-right, h-top-bottom
	t0, t1 := spec.From.UnixMilli(), spec.To.UnixMilli()
	// Value range over everything drawn.
	lo, hi := math.Inf(1), math.Inf(-1)
	see := func(v float64) {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	for _, l := range lines {
		for _, p := range l {
			see(p.F)
		}
	}
	for _, t := range spec.Thresholds {
		see(t)
	}
	bandStep := max((t1-t0)/int64(pw), 1)
	if spec.Anomaly != nil {
		for t := t0; t <= spec.Now.UnixMilli(); t += bandStep {
			l, u := spec.Anomaly.Band(t, spec.Sense)
			see(l)
			see(u)
		}
	}
	if spec.Forecast != nil {
		see(spec.Forecast.At(t1))
	}
	if math.IsInf(lo, 0) {
		lo, hi = 0, 1
	}
	if hi-lo < 1e-12 {
		lo, hi = lo-1, hi+1
	}
	pad := (hi - lo) * 0.08
	lo, hi = lo-pad, hi+pad
	X := func(t int64) int { return left + int(float64(t-t0)/float64(t1-t0)*float64(pw)) }
	Y := func(v float64) int { return top + int((hi-v)/(hi-lo)*float64(ph)) }
	// Grid and labels.
	for i := 0; i <= 4; i++ {
		v := lo + (hi-lo)*float64(i)/4
		y := Y(v)
		hline(img, left, left+pw, y, colGrid)
		drawText(img, left-4, y-3, fmtNum(v), colAxis, true)
	}
	span := spec.To.Sub(spec.From)
	for i := 0; i <= 4; i++ {
		t := spec.From.Add(span * time.Duration(i) / 4)
		x := X(t.UnixMilli())
		vline(img, x, top, top+ph, colGrid)
		label := t.UTC().Format("15:04")
		if span < 10*time.Minute {
			label = t.UTC().Format("15:04:05")
		} else if span > 36*time.Hour {
			label = t.UTC().Format("01-02")
		}
		drawText(img, x-len(label)*3, top+ph+6, label, colAxis, false)
	}
	// Anomaly band.
	if spec.Anomaly != nil {
		for t := t0; t <= spec.Now.UnixMilli(); t += bandStep {
			l, u := spec.Anomaly.Band(t, spec.Sense)
			x := X(t)
			vline(img, x, clampI(Y(u), top, top+ph), clampI(Y(l), top, top+ph), colBand)
		}
	}
	for _, t := range spec.Thresholds {
		c := colThresh
		if spec.Warning != nil && *spec.Warning == t {
			c = colWarn
		}
		for x := left; x < left+pw; x += 8 {
			hline(img, x, min(x+5, left+pw), Y(t), c)
		}
	}
	if spec.Now.Before(spec.To) {
		vline(img, X(spec.Now.UnixMilli()), top, top+ph, colNow)
	}
	for i, l := range lines {
		c := palette[i%len(palette)]
		for j := 1; j < len(l); j++ {
			line(img, X(l[j-1].T), Y(l[j-1].F), X(l[j].T), Y(l[j].F), c, top, top+ph)
		}
	}
	if spec.Forecast != nil {
		prevX, prevY := -1, 0
		for t := spec.Now.UnixMilli(); t <= t1; t += bandStep {
			x, y := X(t), Y(spec.Forecast.At(t))
			if prevX >= 0 && (x/4)%2 == 0 {
				line(img, prevX, prevY, x, y, colProj, top, top+ph)
			}
			prevX, prevY = x, y
		}
	}
	// Frame.
	hline(img, left, left+pw, top+ph, colAxis)
	vline(img, left, top, top+ph, colAxis)
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

func clampI(v, lo, hi int) int { return max(lo, min(hi, v)) }

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

func hline(img *image.RGBA, x0, x1, y int, c color.RGBA) {
	for x := x0; x <= x1; x++ {
		img.SetRGBA(x, y, c)
	}
}

func vline(img *image.RGBA, x, y0, y1 int, c color.RGBA) {
	if y0 > y1 {
		y0, y1 = y1, y0
	}
	for y := y0; y <= y1; y++ {
		img.SetRGBA(x, y, c)
	}
}

// line draws a 2-pixel-wide segment (Bresenham), clipped vertically to the plot.
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA, top, bottom int) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := 1, 1
	if x0 > x1 {
		sx = -1
	}
	if y0 > y1 {
		sy = -1
	}
	err := dx + dy
	for n := 0; n < 100000; n++ {
		if y0 >= top && y0 <= bottom {
			img.SetRGBA(x0, y0, c)
			if y0+1 <= bottom {
				img.SetRGBA(x0, y0+1, c)
			}
		}
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * err
		if e2 >= dy {
			err += dy
			x0 += sx
		}
		if e2 <= dx {
			err += dx
			y0 += sy
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// A 3×5 pixel font for axis labels: digits and the few signs numbers and times need.
var glyphs = map[rune][5]string{
	'0': {"###", "#.#", "#.#", "#.#", "###"}, '1': {".#.", "##.", ".#.", ".#.", "###"},
	'2': {"###", "..#", "###", "#..", "###"}, '3': {"###", "..#", ".##", "..#", "###"},
	'4': {"#.#", "#.#", "###", "..#", "..#"}, '5': {"###", "#..", "###", "..#", "###"},
	'6': {"###", "#..", "###", "#.#", "###"}, '7': {"###", "..#", ".#.", ".#.", ".#."},
	'8': {"###", "#.#", "###", "#.#", "###"}, '9': {"###", "#.#", "###", "..#", "###"},
	'.': {"...", "...", "...", "...", ".#."}, ':': {"...", ".#.", "...", ".#.", "..."},
	'-': {"...", "...", "###", "...", "..."}, '+': {"...", ".#.", "###", ".#.", "..."},
	'e': {"...", "###", "###", "#..", "###"}, ' ': {"...", "...", "...", "...", "..."},
}

// drawText writes s at (x, y) scaled ×1 with 1 pixel between glyphs; right aligns at x.
func drawText(img *image.RGBA, x, y int, s string, c color.RGBA, right bool) {
	if right {
		x -= len(s) * 4
	}
	for _, r := range s {
		g, ok := glyphs[r]
		if ok {
			for gy, row := range g {
				for gx, p := range row {
					if p == '#' {
						img.SetRGBA(x+gx, y+gy, c)
					}
				}
			}
		}
		x += 4
	}
}
