package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// passTitle names a one-pass view's pass in chart titles, when the run had
// more than one.
func passTitle(r *Report) string {
	if len(r.Passes) != 1 {
		return ""
	}
	p := r.Passes[0]
	if p.MemLimit == 0 && p.Keys == r.Params.Keys && len(r.Results) > 0 && r.Results[0].Keys == 0 {
		return ""
	}
	return ", " + p.String()
}

// writeCurveCharts draws the cost curve when the run has several sizes:
// per memory limit, curve-throughput*.png (a panel per workload, ops/s
// against keys, a line per engine), curve-p99*.png (the same for p99) and
// curve-rss*.png (peak RSS against keys, a panel per workload).
func writeCurveCharts(r *Report, dir string) ([]string, error) {
	sizes, limits := r.curveAxes()
	if len(sizes) < 2 {
		return nil, nil
	}
	var wls []string
	for _, w := range r.resultWorkloads() {
		if w != "settle" {
			wls = append(wls, w)
		}
	}
	var names []string
	for _, lim := range limits {
		suffix := ""
		if lim > 0 {
			suffix = "-" + fmtLimit(lim)
		}
		for _, m := range []struct {
			name, label string
			log         bool
			get         func(Result) float64
		}{
			{"curve-throughput", "kops/s", false, func(x Result) float64 { return x.OpsPerSec / 1e3 }},
			{"curve-p99", "p99 µs (log)", true, func(x Result) float64 { return x.P99us }},
			{"curve-rss", "peak RSS MiB", false, func(x Result) float64 { return float64(x.PeakRSS) / (1 << 20) }},
		} {
			name := m.name + suffix + ".png"
			if err := curveChart(r, wls, sizes, lim, m.label, m.log, m.get, filepath.Join(dir, name)); err != nil {
				return names, fmt.Errorf("%s: %w", name, err)
			}
			names = append(names, name)
		}
	}
	return names, nil
}

func curveChart(r *Report, wls []string, sizes []int64, lim int64, label string, logY bool,
	get func(Result) float64, path string) error {
	cols := min(3, len(wls))
	rowsN := (len(wls) + cols - 1) / cols
	grid := make([][]*plot.Plot, rowsN)
	for i := range grid {
		grid[i] = make([]*plot.Plot, cols)
	}
	for i, w := range wls {
		p := plot.New()
		p.Title.Text = w
		if lim > 0 {
			p.Title.Text += " (limit " + fmtLimit(lim) + ")"
		}
		p.X.Label.Text = "keys (log)"
		p.Y.Label.Text = label
		p.X.Scale = plot.LogScale{}
		ticks := make([]plot.Tick, len(sizes))
		for j, k := range sizes {
			ticks[j] = plot.Tick{Value: float64(k), Label: fmtCount(k)}
		}
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
		p.X.Min, p.X.Max = float64(sizes[0])/1.3, float64(sizes[len(sizes)-1])*1.3
		if logY {
			p.Y.Scale = plot.LogScale{}
			p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		} else {
			p.Y.Min = 0
		}
		lo, hi := math.Inf(1), 0.0
		for _, e := range r.Engines {
			var pts plotter.XYs
			for _, k := range sizes {
				x, ok := r.resultAt(e, w, Pass{Keys: k, MemLimit: lim})
				if !ok || x.Error != "" || x.Ops == 0 {
					continue
				}
				v := get(x)
				if logY {
					v = max(v, 0.01)
				}
				lo, hi = math.Min(lo, v), math.Max(hi, v)
				pts = append(pts, plotter.XY{X: float64(k), Y: v})
			}
			if len(pts) == 0 {
				continue
			}
			l, s, err := plotter.NewLinePoints(pts)
			if err != nil {
				return err
			}
			l.Color, s.Color = engineColor(e), engineColor(e)
			l.Width = vg.Points(1.5)
			s.Shape = draw.CircleGlyph{}
			p.Add(l, s)
			p.Legend.Add(e, l, s)
		}
		if hi == 0 {
			lo, hi = 1, 10
		}
		if logY {
			p.Y.Min, p.Y.Max = lo/1.5, hi*1.5
		} else {
			p.Y.Max = hi * 1.25
		}
		p.Legend.Top = true
		p.Add(plotter.NewGrid())
		grid[i/cols][i%cols] = p
	}
	w, h := vg.Length(cols)*3.6*vg.Inch, vg.Length(rowsN)*3*vg.Inch
	img := vgimg.New(w, h)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: rowsN, Cols: cols, PadTop: vg.Points(4), PadBottom: vg.Points(4),
		PadLeft: vg.Points(4), PadRight: vg.Points(4), PadX: vg.Points(10), PadY: vg.Points(10)}
	canvases := plot.Align(grid, tiles, dc)
	for i := range grid {
		for j := range grid[i] {
			if grid[i][j] != nil {
				grid[i][j].Draw(canvases[i][j])
			}
		}
	}
	return savePNG(img, path)
}

func savePNG(img *vgimg.Canvas, path string) error {
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
