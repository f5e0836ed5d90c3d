package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// engineColors keeps an engine's colour the same in every chart.
var engineColors = map[string]color.RGBA{
	"strata":       {R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	"strata-ml":    {R: 0xe3, G: 0x77, B: 0xc2, A: 0xff},
	"strata-cache": {R: 0x8c, G: 0x1d, B: 0x1d, A: 0xff},
	"pebble":       {R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	"goleveldb":    {R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	"badger":       {R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	"bbolt":        {R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
}

func engineColor(e string) color.Color {
	if c, ok := engineColors[e]; ok {
		return c
	}
	return color.Gray{Y: 0x60}
}

// chartGroups are the workload groups that get a throughput and a latency
// chart each, in order.
var chartGroups = []string{"fill", "read", "ycsb", "ttl", "sync-always", "sync-buffered"}

func groupOf(workload string) string {
	if w := findWorkload(workload); w != nil {
		return w.group
	}
	if len(workload) > 3 && workload[:3] == "ttl" {
		return "ttl"
	}
	return ""
}

// writeCharts draws, per workload group, throughput-GROUP.png (grouped
// bars of ops/s per workload and engine) and latency-GROUP.png (p50, p99
// and p99.9 per workload and engine on log scales), and returns their
// file names.
func writeCharts(r *Report, dir string) ([]string, error) {
	passes := r.passes()
	if len(passes) == 1 && passes[0].MemLimit == 0 {
		return writeGroupCharts(r.view(passes[0]), dir, "")
	}
	var names []string
	for _, p := range passes {
		suffix := "-" + fmtCount(p.Keys)
		if p.MemLimit > 0 {
			suffix += "-" + fmtLimit(p.MemLimit)
		}
		n, err := writeGroupCharts(r.view(p), dir, suffix)
		names = append(names, n...)
		if err != nil {
			return names, err
		}
	}
	n, err := writeCurveCharts(r, dir)
	return append(names, n...), err
}

// writeGroupCharts draws one pass's charts; suffix tells passes apart.
func writeGroupCharts(r *Report, dir, suffix string) ([]string, error) {
	var names []string
	for _, g := range chartGroups {
		var wls []string
		for _, w := range r.resultWorkloads() {
			if groupOf(w) == g {
				wls = append(wls, w)
			}
		}
		if len(wls) == 0 {
			continue
		}
		tp := "throughput-" + g + suffix + ".png"
		if err := throughputChart(r, g, wls, filepath.Join(dir, tp)); err != nil {
			return names, fmt.Errorf("%s: %w", tp, err)
		}
		lat := "latency-" + g + suffix + ".png"
		if err := latencyChart(r, g, wls, filepath.Join(dir, lat)); err != nil {
			return names, fmt.Errorf("%s: %w", lat, err)
		}
		names = append(names, tp, lat)
	}
	return names, nil
}

func chartWidth(workloads, engines int) vg.Length {
	w := vg.Length(workloads*engines)*14*vg.Points(1) + 160
	return max(w, 6*vg.Inch)
}

func throughputChart(r *Report, group string, wls []string, path string) error {
	p := plot.New()
	p.Title.Text = "Throughput: " + group + passTitle(r) + " (thousand ops/s, higher is better)"
	p.Y.Label.Text = "kops/s"
	p.Y.Min = 0
	barW := vg.Points(12)
	n := len(r.Engines)
	top := 0.0
	for i, e := range r.Engines {
		vals := make(plotter.Values, len(wls))
		for j, w := range wls {
			if x, ok := r.result(e, w); ok && x.Error == "" {
				vals[j] = x.OpsPerSec / 1e3
				top = max(top, vals[j])
			}
		}
		bars, err := plotter.NewBarChart(vals, barW)
		if err != nil {
			return err
		}
		bars.Color = engineColor(e)
		bars.LineStyle.Width = 0
		bars.Offset = barW * vg.Length(float64(i)-float64(n-1)/2)
		p.Add(bars)
		p.Legend.Add(e, bars)
	}
	p.Legend.Top = true
	p.Y.Max = max(top*1.3, 1) // room for the legend
	p.NominalX(wls...)
	p.Add(plotter.NewGrid())
	return p.Save(chartWidth(len(wls), n), 4*vg.Inch, path)
}

// latencyChart draws three stacked panels (p50, p99, p99.9), each a dot
// per engine beside each workload, on a log scale in microseconds.
func latencyChart(r *Report, group string, wls []string, path string) error {
	type pct struct {
		name string
		get  func(Result) float64
	}
	pcts := []pct{
		{"p50", func(x Result) float64 { return x.P50us }},
		{"p99", func(x Result) float64 { return x.P99us }},
		{"p99.9", func(x Result) float64 { return x.P999us }},
	}
	n := len(r.Engines)
	rows := make([][]*plot.Plot, len(pcts))
	for i, q := range pcts {
		p := plot.New()
		p.Title.Text = fmt.Sprintf("Latency %s: %s%s (µs, log scale, lower is better)", q.name, group, passTitle(r))
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		lo, hi := math.Inf(1), 0.0
		for k, e := range r.Engines {
			var pts plotter.XYs
			for j, w := range wls {
				x, ok := r.result(e, w)
				if !ok || x.Error != "" || x.Ops == 0 {
					continue
				}
				v := max(q.get(x), 0.01)
				lo, hi = math.Min(lo, v), math.Max(hi, v)
				pts = append(pts, plotter.XY{X: float64(j) + 0.6*(float64(k)/float64(max(n-1, 1))-0.5), Y: v})
			}
			if len(pts) == 0 {
				continue
			}
			s, err := plotter.NewScatter(pts)
			if err != nil {
				return err
			}
			s.GlyphStyle.Color = engineColor(e)
			s.GlyphStyle.Radius = vg.Points(3.5)
			s.GlyphStyle.Shape = draw.CircleGlyph{}
			p.Add(s)
			if i == 0 {
				p.Legend.Add(e, s)
			}
		}
		if hi == 0 {
			lo, hi = 1, 10
		}
		p.Y.Min, p.Y.Max = lo/1.5, hi*1.5
		p.X.Min, p.X.Max = -0.6, float64(len(wls))-0.4
		ticks := make([]plot.Tick, len(wls))
		for j, w := range wls {
			ticks[j] = plot.Tick{Value: float64(j), Label: w}
		}
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
		p.Legend.Top = true
		p.Add(plotter.NewGrid())
		rows[i] = []*plot.Plot{p}
	}
	w, h := chartWidth(len(wls), n), 8*vg.Inch
	img := vgimg.New(w, h)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(rows), Cols: 1, PadTop: vg.Points(4), PadBottom: vg.Points(4), PadX: vg.Points(4), PadY: vg.Points(8)}
	canvases := plot.Align(rows, tiles, dc)
	for i := range rows {
		rows[i][0].Draw(canvases[i][0])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
