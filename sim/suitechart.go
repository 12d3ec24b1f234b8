package sim

import (
	"image/color"
	"io"

	"gonum.org/v1/plot/vg"
)

// chartPolicies are the policies the bake-off charts draw: ours, the AWS
// default it must beat, and the physical limit.
var chartPolicies = []string{PolicyAutotuner, "target-tracking", PolicyOracle}

// WriteChartPNG draws the scenario's telling panels for the autotuner,
// target tracking and the oracle: served against offered, requests turned
// away, and the limits of the Lambda and the table against what was
// needed. Identical runs give identical bytes.
func (r *ScenarioRun) WriteChartPNG(w io.Writer) error { return r.chart().png(w) }

func (r *ScenarioRun) chart() *figure {
	f := &figure{}
	tp := &r.Setup.Scenario.Topology
	served := panel{title: r.Setup.Scenario.Name + ": served requests/s (grey: offered)", ylabel: "requests/s"}
	lost := panel{title: "requests turned away per minute (throttled at any layer + downstream errors)", ylabel: "per minute"}
	limit := panel{title: "Lambda concurrency limit (grey: needed, under autotuner)", ylabel: "concurrency"}
	table := panel{title: "DynamoDB provisioned capacity (grey: needed, under autotuner)", ylabel: "units/s"}
	first := true
	for _, name := range chartPolicies {
		res := r.Result(name)
		if res == nil {
			continue
		}
		tl := res.Timeline
		if first {
			first = false
			f.minutes = len(tl.Offered)
			served.lines = append(served.lines, series{name: "offered", ys: tl.Offered, c: cDemand, width: vg.Points(2.5)})
			limit.lines = append(limit.lines, series{name: "needed", ys: tl.LambdaNeed, c: cDemand, width: vg.Points(2.5)})
			table.lines = append(table.lines, series{name: "needed", ys: tl.TableNeed, c: cDemand, width: vg.Points(2.5)})
		}
		c := policyColors[name]
		if c == (color.RGBA{}) {
			c = cUsed
		}
		dashed := name == PolicyOracle
		served.lines = append(served.lines, series{name: name, ys: tl.Served, c: c, dashed: dashed})
		l := make([]float64, len(tl.Offered))
		for i := range l {
			l[i] = tl.APIThrottled[i] + tl.LambdaThrottled[i] + tl.TableThrottled[i] + tl.DownstreamErrors[i]
		}
		lost.lines = append(lost.lines, series{name: name, ys: l, c: c, dashed: dashed})
		limit.lines = append(limit.lines, series{name: name, ys: tl.LambdaLimit, c: c, dashed: dashed})
		table.lines = append(table.lines, series{name: name, ys: tl.TableLimit, c: c, dashed: dashed})
	}
	f.panels = []panel{served, lost, limit}
	if tp.Table != nil {
		f.panels = append(f.panels, table)
	}
	return f
}
