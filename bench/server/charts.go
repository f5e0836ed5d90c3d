package main

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

var (
	redisColor  = color.RGBA{R: 0xb0, G: 0x2a, B: 0x1f, A: 0xff}
	redisLight  = color.RGBA{R: 0xe8, G: 0x8e, B: 0x85, A: 0xff}
	strataColor = color.RGBA{R: 0x1f, G: 0x5f, B: 0xa8, A: 0xff}
	strataLight = color.RGBA{R: 0x8c, G: 0xb4, B: 0xe0, A: 0xff}
	seriesCols  = []color.RGBA{
		{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, {R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
		{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, {R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
		{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff}, {R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	}
)

// writeCharts draws the charts a report has data for into dir and returns
// their file names.
func writeCharts(r *Report, dir string) ([]string, error) {
	var names []string
	add := func(name string, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		names = append(names, name)
		return nil
	}
	var goLines []Line
	for _, l := range r.Lines {
		if l.Tool == "go-redis" {
			goLines = append(goLines, l)
		}
	}
	if len(goLines) > 0 {
		wls := uniq(goLines, func(l Line) string { return l.Workload })
		pipes, values := r.settings("go-redis")
		for _, fs := range uniq(goLines, func(l Line) string { return l.Fsync }) {
			n := "ratio-" + fs + ".png"
			if err := add(n, ratioChart(r, fs, wls, pipes, values, filepath.Join(dir, n))); err != nil {
				return names, err
			}
			for _, p := range pipes {
				n := fmt.Sprintf("throughput-%s-p%d.png", fs, p)
				if err := add(n, barsChart(r, fs, p, wls, values, false, filepath.Join(dir, n))); err != nil {
					return names, err
				}
				n = fmt.Sprintf("p99-%s-p%d.png", fs, p)
				if err := add(n, barsChart(r, fs, p, wls, values, true, filepath.Join(dir, n))); err != nil {
					return names, err
				}
			}
		}
	}
	if len(r.Beyond) > 0 {
		for _, what := range []string{"rate", "rss", "keys"} {
			n := "beyond-" + what + ".png"
			if err := add(n, beyondChart(r, what, filepath.Join(dir, n))); err != nil {
				return names, err
			}
		}
	}
	if len(r.Restart) > 0 {
		if err := add("restart.png", restartChart(r, filepath.Join(dir, "restart.png"))); err != nil {
			return names, err
		}
	}
	return names, nil
}

func width(groups, bars int) vg.Length {
	per := max(bars*11, 56)
	return max(vg.Length(groups*per)*vg.Points(1)+150, 7*vg.Inch)
}

// ratioClip is the tallest bar of a ratio chart: one line at 8x would
// flatten every other.
const ratioClip = 4.0

// ratioChart: Strata's ops/s over Redis's per workload, one bar per
// (pipeline, value size), with the target drawn across.
func ratioChart(r *Report, fsync string, wls []string, pipes, values []int, path string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Strata ÷ Redis ops/s, appendfsync %s (above the line: target met; bars cut at %gx, the tables have every figure)", fsync, ratioClip)
	p.Y.Label.Text = "ratio"
	p.Y.Min = 0
	n := len(pipes) * len(values)
	barW := vg.Points(9)
	top := 2.2
	i := 0
	for _, pp := range pipes {
		for _, v := range values {
			vals := make(plotter.Values, len(wls))
			for j, wl := range wls {
				if q, _, _, ok := r.ratio("go-redis", fsync, v, pp, wl); ok {
					vals[j] = min(q, ratioClip)
					top = max(top, vals[j])
				}
			}
			bars, err := plotter.NewBarChart(vals, barW)
			if err != nil {
				return err
			}
			bars.Color = seriesCols[i%len(seriesCols)]
			bars.LineStyle.Width = 0
			bars.Offset = barW * vg.Length(float64(i)-float64(n-1)/2)
			p.Add(bars)
			p.Legend.Add(fmt.Sprintf("P%d %s", pp, valueLabel(v)), bars)
			i++
		}
	}
	for _, t := range []float64{1, 2} {
		if t == 2 && fsync != "always" {
			continue
		}
		l, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: t}, {X: float64(len(wls)) - 0.5, Y: t}})
		if err != nil {
			return err
		}
		l.LineStyle.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
	}
	p.Legend.Top = true
	p.Y.Max = top * 1.25
	p.NominalX(wls...)
	p.Add(plotter.NewGrid())
	return p.Save(width(len(wls), n), 4*vg.Inch, path)
}

// barsChart: ops/s of both servers per workload at one pipeline depth, a
// pair of bars per value size; with p99, the p99 latencies as dots on a
// log scale instead.
func barsChart(r *Report, fsync string, pipe int, wls []string, values []int, p99 bool, path string) error {
	p := plot.New()
	if p99 {
		p.Title.Text = fmt.Sprintf("p99 latency, appendfsync %s, pipeline %d (ms, log scale, lower is better)", fsync, pipe)
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	} else {
		p.Title.Text = fmt.Sprintf("Throughput, appendfsync %s, pipeline %d (thousand ops/s, higher is better)", fsync, pipe)
		p.Y.Min = 0
	}
	n := 2 * len(values)
	barW := vg.Points(9)
	top, low := 0.0, math.Inf(1)
	i := 0
	for vi, v := range values {
		for si, srv := range serverKinds {
			c := [2][2]color.RGBA{{redisColor, strataColor}, {redisLight, strataLight}}[vi%2][si]
			label := fmt.Sprintf("%s %s", srv, valueLabel(v))
			vals := make(plotter.Values, len(wls))
			var pts plotter.XYs
			for j, wl := range wls {
				l := r.find("go-redis", fsync, v, pipe, wl, srv)
				if l == nil || l.Skipped != "" || l.Ops == 0 {
					continue
				}
				if p99 {
					y := max(l.P99, 1e-3)
					low, top = min(low, y), max(top, y)
					pts = append(pts, plotter.XY{X: float64(j) + 0.7*(float64(i)/float64(max(n-1, 1))-0.5), Y: y})
				} else {
					vals[j] = l.OpsPerSec / 1e3
					top = max(top, vals[j])
				}
			}
			if p99 {
				if len(pts) > 0 {
					sc, err := plotter.NewScatter(pts)
					if err != nil {
						return err
					}
					sc.GlyphStyle.Color = c
					sc.GlyphStyle.Radius = vg.Points(3.5)
					sc.GlyphStyle.Shape = draw.CircleGlyph{}
					p.Add(sc)
					p.Legend.Add(label, sc)
				}
			} else {
				bars, err := plotter.NewBarChart(vals, barW)
				if err != nil {
					return err
				}
				bars.Color = c
				bars.LineStyle.Width = 0
				bars.Offset = barW * vg.Length(float64(i)-float64(n-1)/2)
				p.Add(bars)
				p.Legend.Add(label, bars)
			}
			i++
		}
	}
	p.Legend.Top = true
	if p99 {
		if top == 0 {
			top, low = 10, 0.1
		}
		p.Y.Min, p.Y.Max = low/2, top*6
		p.X.Min, p.X.Max = -0.6, float64(len(wls))-0.4
		ticks := make([]plot.Tick, len(wls))
		for j, w := range wls {
			ticks[j] = plot.Tick{Value: float64(j), Label: w}
		}
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
	} else {
		p.Y.Max = max(top*1.3, 1)
		p.NominalX(wls...)
	}
	p.Add(plotter.NewGrid())
	return p.Save(width(len(wls), n), 4*vg.Inch, path)
}

// beyondChart draws one of the beyond-memory series against time, a line
// per run: "rate" (acknowledged SETs/s), "rss" (RSS, with the cgroup's
// usage dashed and the limit) or "keys" (keys written).
func beyondChart(r *Report, what, path string) error {
	p := plot.New()
	limit := int64(0)
	for _, s := range r.BeyondSummary {
		limit = max(limit, s.Limit)
	}
	switch what {
	case "rss":
		p.Title.Text = fmt.Sprintf("Memory while the keyspace grows (cgroup limit %s)", human(limit))
		p.Y.Label.Text = "MiB"
	case "keys":
		p.Title.Text = "Keys written"
		p.Y.Label.Text = "million keys acknowledged"
	default:
		p.Title.Text = fmt.Sprintf("SET throughput while the keyspace grows (cgroup limit %s)", human(limit))
		p.Y.Label.Text = "thousand SETs/s (10 s moving average)"
	}
	p.X.Label.Text = "seconds"
	p.Y.Min = 0
	top, right := 0.0, 0.0
	for i, run := range uniqStrings(r.Beyond) {
		var pts, cg plotter.XYs
		for _, s := range r.Beyond {
			if s.Run != run {
				continue
			}
			right = max(right, s.T)
			switch what {
			case "rss":
				pts = append(pts, plotter.XY{X: s.T, Y: float64(s.RSS) / (1 << 20)})
				cg = append(cg, plotter.XY{X: s.T, Y: float64(s.Cgroup) / (1 << 20)})
			case "keys":
				pts = append(pts, plotter.XY{X: s.T, Y: float64(s.Keys) / 1e6})
			default:
				pts = append(pts, plotter.XY{X: s.T, Y: s.OpsPerSec / 1e3})
			}
		}
		if len(pts) == 0 {
			continue
		}
		if what == "rate" {
			pts = movingAverage(pts, 10)
		}
		for _, q := range append(pts, cg...) {
			top = max(top, q.Y)
		}
		c := seriesCols[i%len(seriesCols)]
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.Color = c
		l.Width = vg.Points(1.5)
		p.Add(l)
		if what != "rss" {
			p.Legend.Add(run, l)
			continue
		}
		p.Legend.Add(run+" RSS", l)
		l2, err := plotter.NewLine(cg)
		if err != nil {
			return err
		}
		l2.Color = c
		l2.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
		p.Add(l2)
		p.Legend.Add(run+" cgroup usage (page cache incl.)", l2)
	}
	if what == "rss" && limit > 0 {
		y := float64(limit) / (1 << 20)
		top = max(top, y)
		l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: y}, {X: right, Y: y}})
		if err == nil {
			l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
			l.Color = color.Gray{Y: 0x50}
			p.Add(l)
			p.Legend.Add("cgroup limit", l)
		}
	}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Y.Max = max(top, 1) * 1.6 // room for the legend
	p.Add(plotter.NewGrid())
	return p.Save(8*vg.Inch, 4.5*vg.Inch, path)
}

func uniqStrings(ss []BeyondSample) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range ss {
		if !seen[s.Run] {
			seen[s.Run] = true
			out = append(out, s.Run)
		}
	}
	return out
}

// restartChart: seconds from exec to the first +PONG after a kill -9.
func restartChart(r *Report, path string) error {
	p := plot.New()
	p.Title.Text = "Restart after kill -9: exec to first +PONG (seconds, lower is better)"
	p.Y.Min = 0
	var sizes []int64
	for _, l := range r.Restart {
		found := false
		for _, s := range sizes {
			found = found || s == l.Keys
		}
		if !found {
			sizes = append(sizes, l.Keys)
		}
	}
	labels := make([]string, len(sizes))
	for i, s := range sizes {
		labels[i] = fmt.Sprintf("%gM keys", float64(s)/1e6)
	}
	barW := vg.Points(24)
	for i, srv := range serverKinds {
		vals := make(plotter.Values, len(sizes))
		for j, s := range sizes {
			for _, l := range r.Restart {
				if l.Server == srv && l.Keys == s {
					vals[j] = l.PongMs / 1e3
				}
			}
		}
		bars, err := plotter.NewBarChart(vals, barW)
		if err != nil {
			return err
		}
		bars.Color = []color.RGBA{redisColor, strataColor}[i]
		bars.LineStyle.Width = 0
		bars.Offset = barW * vg.Length(float64(i)-0.5)
		p.Add(bars)
		p.Legend.Add(srv, bars)
	}
	p.Legend.Top = true
	p.NominalX(labels...)
	p.Add(plotter.NewGrid())
	return p.Save(6*vg.Inch, 4*vg.Inch, path)
}

// movingAverage replaces each point's Y by the mean of the last n points'
// (fewer at the start).
func movingAverage(pts plotter.XYs, n int) plotter.XYs {
	out := make(plotter.XYs, len(pts))
	var sum float64
	for i, q := range pts {
		sum += q.Y
		if i >= n {
			sum -= pts[i-n].Y
		}
		out[i] = plotter.XY{X: q.X, Y: sum / float64(min(i+1, n))}
	}
	return out
}
