package main

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"sort"

	"github.com/rwsplit/rwsplit/rwsplittest"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// plotFile names a plot of cluster cl: base.png for the first flavor's
// primary + replicas cluster (MySQL), base-<flavor or kind>.png otherwise.
func plotFile(cl *rwsplittest.Cluster, base string) string {
	switch {
	case cl.Kind != rwsplittest.Async && cl.Kind != "":
		return base + "-" + string(cl.Kind) + ".png"
	case cl.Flavor != rwsplittest.MySQL:
		return base + "-" + string(cl.Flavor) + ".png"
	}
	return base + ".png"
}

// writePlot writes a plot into the output directory with draw, noting a failure.
func writePlot(o *out, name string, draw func(path string) error) {
	if err := draw(filepath.Join(*outDir, name)); err != nil {
		o.note("plot %s: %v", name, err)
	}
}

func modesCDF(modeData []modeResult, path string) error {
	p := plot.New()
	p.Title.Text = "Read latency right after a write, replicas 1 s behind"
	p.X.Label.Text = "read latency (ms, log scale)"
	p.Y.Label.Text = "fraction of reads"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	p.Legend.Left = true
	var args []any
	for i, r := range modeData {
		if len(r.lat) == 0 {
			continue
		}
		s := make([]float64, len(r.lat))
		for j, d := range r.lat {
			s[j] = math.Max(float64(d)/1e6, 0.01)
		}
		sort.Float64s(s)
		pts := make(plotter.XYs, len(s))
		for j, x := range s {
			pts[j].X, pts[j].Y = x, float64(j+1)/float64(len(s))
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.Color = plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i / 7)
		l.Width = vg.Points(1.5)
		p.Add(l)
		args = append(args, fmt.Sprintf("%s (n=%d)", r.name, len(s)), l)
	}
	for i := 0; i+1 < len(args); i += 2 {
		p.Legend.Add(args[i].(string), args[i+1].(plot.Thumbnailer))
	}
	p.Add(plotter.NewGrid())
	return p.Save(9*vg.Inch, 5.5*vg.Inch, path)
}

func scalingPlot(scaleData [][]float64, path string) error {
	p := plot.New()
	p.Title.Text = "Read throughput against the number of replicas"
	p.X.Label.Text = "replicas"
	p.Y.Label.Text = "ratio to primary-only (median of rounds)"
	var pts, raw, ideal plotter.XYs
	rat := func(a, b []float64) float64 {
		var rs []float64
		for i := range a {
			rs = append(rs, a[i]/b[i])
		}
		return medianF(rs)
	}
	for n := 0; n < 3; n++ {
		pts = append(pts, plotter.XY{X: float64(n), Y: rat(scaleData[n], scaleData[0])})
		raw = append(raw, plotter.XY{X: float64(n), Y: rat(scaleData[3+n], scaleData[3])})
		ideal = append(ideal, plotter.XY{X: float64(n), Y: math.Max(1, float64(n))})
	}
	l, sc, err := plotter.NewLinePoints(pts)
	if err != nil {
		return err
	}
	l.Color, sc.Color = color.RGBA{B: 200, A: 255}, color.RGBA{B: 200, A: 255}
	rl, rsc, err := plotter.NewLinePoints(raw)
	if err != nil {
		return err
	}
	rl.Color, rsc.Color = color.RGBA{R: 200, A: 255}, color.RGBA{R: 200, A: 255}
	rsc.Shape = draw.BoxGlyph{}
	p.Add(rl, rsc)
	p.Legend.Add("raw pools (control)", rl, rsc)
	il, err := plotter.NewLine(ideal)
	if err != nil {
		return err
	}
	il.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
	il.Color = color.Gray{Y: 128}
	p.Add(l, sc, il, plotter.NewGrid())
	p.Legend.Add("rwsplit", l, sc)
	p.Legend.Add("reads spread over the replicas, ideal", il)
	p.Legend.Top = true
	p.Legend.Left = true
	p.X.Min, p.X.Max = -0.2, 2.2
	p.Y.Min = 0
	p.Y.Max = math.Max(2.2, p.Y.Max)
	return p.Save(6*vg.Inch, 4*vg.Inch, path)
}
