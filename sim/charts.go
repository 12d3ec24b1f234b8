package sim

import (
	"bytes"
	"image/color"
	"io"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Colours: one per series role, so every panel reads the same way:
// grey is what was asked, blue what was used or served, red the limit.
var (
	cDemand = color.RGBA{140, 140, 140, 255}
	cUsed   = color.RGBA{31, 119, 180, 255}
	cLimit  = color.RGBA{214, 39, 40, 255}
	cAPI    = color.RGBA{255, 127, 14, 255}
	cLambda = color.RGBA{214, 39, 40, 255}
	cTable  = color.RGBA{148, 103, 189, 255}
	cDown   = color.RGBA{140, 86, 75, 255}
	cCost   = color.RGBA{44, 160, 44, 255}
)

var policyColors = map[string]color.RGBA{
	PolicyAutotuner:   {31, 119, 180, 255},
	"target-tracking": {255, 127, 14, 255},
	"hpa":             {44, 160, 44, 255},
	"step-scaling":    {23, 190, 207, 255},
	"threshold":       {188, 189, 34, 255},
	"aimd":            {227, 119, 194, 255},
	PolicyStatic:      {127, 127, 127, 255},
	PolicyOracle:      {148, 103, 189, 255},
}

// series is one line of a panel.
type series struct {
	name   string
	ys     []float64
	c      color.RGBA
	dashed bool
	width  vg.Length
}

// panel is one chart.
type panel struct {
	title, ylabel string
	lines         []series
}

// xScale picks the time unit of the x axis.
func xScale(minutes int) (div float64, label string) {
	if minutes > 6*60 {
		return 60, "hours"
	}
	return 1, "minutes"
}

func (pn *panel) plot(minutes int) *plot.Plot {
	p := plot.New()
	p.Title.Text = pn.title
	p.Title.TextStyle.Font.Size = vg.Points(11)
	p.Y.Label.Text = pn.ylabel
	div, xl := xScale(minutes)
	p.X.Label.Text = xl
	p.Y.Min = 0
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	p.Add(plotter.NewGrid())
	for _, s := range pn.lines {
		n := len(s.ys)
		if n == 0 {
			continue
		}
		// A thousand points per line is more than the eye can see; keep
		// the maximum of each bucket so spikes survive.
		step := max(1, n/1000)
		xys := make(plotter.XYs, 0, n/step+1)
		for i := 0; i < n; i += step {
			m := s.ys[i]
			for j := i + 1; j < min(i+step, n); j++ {
				m = max(m, s.ys[j])
			}
			xys = append(xys, plotter.XY{X: float64(i) / div, Y: m})
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			continue
		}
		l.Color = s.c
		l.Width = vg.Points(1.2)
		if s.width > 0 {
			l.Width = s.width
		}
		if s.dashed {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(l)
		p.Legend.Add(s.name, l)
	}
	return p
}

// figure stacks panels into one image.
type figure struct {
	panels  []panel
	minutes int
}

const (
	figWidth    = 9 * vg.Inch
	panelHeight = 2.2 * vg.Inch
)

func (f *figure) draw(c draw.Canvas) {
	plots := make([][]*plot.Plot, len(f.panels))
	for i := range f.panels {
		plots[i] = []*plot.Plot{f.panels[i].plot(f.minutes)}
	}
	t := draw.Tiles{Rows: len(f.panels), Cols: 1, PadY: vg.Points(8), PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8)}
	cs := plot.Align(plots, t, c)
	for i := range plots {
		plots[i][0].Draw(cs[i][0])
	}
}

func (f *figure) height() vg.Length { return panelHeight * vg.Length(len(f.panels)) }

// svg renders the figure as an SVG element for inlining in HTML.
func (f *figure) svg() (string, error) {
	c := vgsvg.NewWith(vgsvg.UseWH(figWidth, f.height()), vgsvg.EmbedFonts(false))
	f.draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", err
	}
	s := b.String()
	if i := strings.Index(s, "<svg"); i > 0 {
		s = s[i:] // drop the XML prolog: the SVG goes inside HTML
	}
	return s, nil
}

// png renders the figure as a PNG.
func (f *figure) png(w io.Writer) error {
	c := vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(figWidth, f.height()), vgimg.UseDPI(96))}
	f.draw(draw.New(c))
	_, err := c.WriteTo(w)
	return err
}

// overview compares the policies on one scenario: served against offered.
func (r *Report) overview() *figure {
	f := &figure{}
	served := panel{title: "Served requests/s by policy (grey: offered)", ylabel: "requests/s"}
	thr := panel{title: "Requests turned away per minute by policy (throttled at any layer + downstream errors)", ylabel: "per minute"}
	if len(r.Results) > 0 {
		tl := r.Results[0].Timeline
		f.minutes = len(tl.Offered)
		served.lines = append(served.lines, series{name: "offered", ys: tl.Offered, c: cDemand, width: vg.Points(2.5)})
	}
	for _, res := range r.Results {
		tl := res.Timeline
		c := policyColors[res.Policy]
		served.lines = append(served.lines, series{name: res.Policy, ys: tl.Served, c: c, dashed: res.Policy == PolicyOracle})
		lost := make([]float64, len(tl.Offered))
		for i := range lost {
			lost[i] = tl.APIThrottled[i] + tl.LambdaThrottled[i] + tl.TableThrottled[i] + tl.DownstreamErrors[i]
		}
		thr.lines = append(thr.lines, series{name: res.Policy, ys: lost, c: c, dashed: res.Policy == PolicyOracle})
	}
	f.panels = []panel{served, thr}
	return f
}

// policyFigure is one policy's panels.
func (r *Report) policyFigure(res *Result) *figure {
	tl := res.Timeline
	tp := &r.Setup.Scenario.Topology
	f := &figure{minutes: len(tl.Offered)}
	req := panel{title: res.Policy + ": requests — offered vs served", ylabel: "requests/s", lines: []series{
		{name: "offered (demand)", ys: tl.Offered, c: cDemand, width: vg.Points(2.5)},
		{name: "served", ys: tl.Served, c: cUsed},
	}}
	if tp.API != nil {
		req.title = res.Policy + ": requests — offered vs API Gateway limit vs served"
		req.lines = append(req.lines, series{name: "API rate limit", ys: tl.APIRate, c: cLimit})
	}
	f.panels = append(f.panels, req,
		panel{title: res.Policy + ": Lambda concurrency — needed vs used vs limit", ylabel: "concurrency", lines: []series{
			{name: "needed", ys: tl.LambdaNeed, c: cDemand, width: vg.Points(2.5)},
			{name: "used (max)", ys: tl.LambdaUsed, c: cUsed},
			{name: "limit", ys: tl.LambdaLimit, c: cLimit},
		}})
	if tp.Table != nil {
		f.panels = append(f.panels, panel{title: res.Policy + ": DynamoDB capacity — needed vs consumed vs provisioned", ylabel: "units/s", lines: []series{
			{name: "needed", ys: tl.TableNeed, c: cDemand, width: vg.Points(2.5)},
			{name: "consumed", ys: tl.TableUsed, c: cUsed},
			{name: "provisioned", ys: tl.TableLimit, c: cLimit},
		}})
	}
	thr := panel{title: res.Policy + ": throttled per minute, by layer", ylabel: "per minute"}
	if tp.API != nil {
		thr.lines = append(thr.lines, series{name: "API Gateway 429", ys: tl.APIThrottled, c: cAPI})
	}
	thr.lines = append(thr.lines, series{name: "Lambda throttles", ys: tl.LambdaThrottled, c: cLambda})
	if tp.Table != nil {
		thr.lines = append(thr.lines, series{name: "DynamoDB throttled", ys: tl.TableThrottled, c: cTable})
	}
	if tp.Downstream != nil {
		thr.lines = append(thr.lines, series{name: "downstream errors", ys: tl.DownstreamErrors, c: cDown})
	}
	f.panels = append(f.panels, thr)
	if tp.Queue != nil {
		f.panels = append(f.panels, panel{title: res.Policy + ": SQS age of the oldest message", ylabel: "seconds", lines: []series{
			{name: "age (max per minute)", ys: tl.QueueAge, c: cUsed},
		}})
	}
	if tp.Downstream != nil {
		f.panels = append(f.panels, panel{title: res.Policy + ": downstream load vs capacity", ylabel: "requests/s", lines: []series{
			{name: "capacity", ys: tl.DownstreamCapacity, c: cLimit, width: vg.Points(2)},
			{name: "load", ys: tl.DownstreamLoad, c: cUsed},
		}})
	}
	f.panels = append(f.panels, panel{title: res.Policy + ": capacity cost, cumulative", ylabel: "USD", lines: []series{
		{name: "cost", ys: tl.CostUSD, c: cCost},
	}})
	return f
}
