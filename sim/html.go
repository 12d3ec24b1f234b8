package sim

import (
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

type htmlFigure struct {
	Title string
	SVG   template.HTML
	PNG   string
}

type htmlRow struct {
	Policy    string
	K         KPIs
	L         Layers
	ServedPct float64
	Best      map[string]bool
}

type htmlPage struct {
	Scenario, Description, Topology, Policies string
	Seed                                      uint64
	Duration                                  string
	Generated                                 string
	Rows                                      []htmlRow
	Notes                                     []string
	Figures                                   []htmlFigure
}

// writeHTML renders the charts (SVG inline, PNG beside the page) and the
// KPI table into one self-contained page.
func (r *Report) writeHTML(dir string, files *[]string) func(io.Writer) error {
	return func(w io.Writer) error {
		type job struct {
			title, png string
			f          *figure
		}
		jobs := []job{{"All policies at a glance", "overview.png", r.overview()}}
		for _, res := range r.Results {
			jobs = append(jobs, job{res.Policy, "policy-" + res.Policy + ".png", r.policyFigure(res)})
		}
		figs := make([]htmlFigure, len(jobs))
		errs := make([]error, len(jobs))
		var wg sync.WaitGroup
		sem := make(chan struct{}, 2)
		for i, j := range jobs {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				svg, err := j.f.svg()
				if err != nil {
					errs[i] = err
					return
				}
				p := filepath.Join(dir, j.png)
				pf, err := os.Create(p)
				if err != nil {
					errs[i] = err
					return
				}
				if err := j.f.png(pf); err != nil {
					pf.Close()
					errs[i] = err
					return
				}
				errs[i] = pf.Close()
				figs[i] = htmlFigure{Title: j.title, SVG: template.HTML(svg), PNG: j.png}
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				return fmt.Errorf("chart %s: %w", jobs[i].png, err)
			}
		}
		for _, j := range jobs {
			*files = append(*files, filepath.Join(dir, j.png))
		}
		sc := r.Setup.Scenario
		page := htmlPage{
			Scenario: sc.Name, Description: sc.Description, Topology: sc.Topology.Kind, Policies: r.Setup.PoliciesName,
			Seed: sc.Seed, Duration: (time.Duration(r.Setup.DurationS) * time.Second).String(),
			Rows: r.rows(), Figures: figs,
		}
		seen := map[string]bool{}
		for _, res := range r.Results {
			for _, n := range res.Notes {
				if !seen[n] {
					seen[n] = true
					page.Notes = append(page.Notes, n)
				}
			}
		}
		return pageTmpl.Execute(w, page)
	}
}

// rows marks, for each column, the best value among the real policies
// (the oracle is the yardstick, not a contender).
func (r *Report) rows() []htmlRow {
	rows := make([]htmlRow, len(r.Results))
	best := map[string]float64{}
	better := map[string]func(a, b float64) bool{
		"served":    func(a, b float64) bool { return a > b },
		"lost":      func(a, b float64) bool { return a < b },
		"throttled": func(a, b float64) bool { return a < b },
		"overload":  func(a, b float64) bool { return a < b },
		"p99age":    func(a, b float64) bool { return a < b },
		"cost":      func(a, b float64) bool { return a < b },
	}
	val := func(k KPIs) map[string]float64 {
		return map[string]float64{"served": float64(k.Served), "lost": float64(k.Lost), "throttled": float64(k.Throttled), "overload": float64(k.OverloadS), "p99age": k.P99QueueAgeS, "cost": k.CostUSD}
	}
	for _, res := range r.Results {
		if res.Policy == PolicyOracle || res.Policy == PolicyOracleCausal {
			continue
		}
		for key, v := range val(res.KPIs) {
			if b, ok := best[key]; !ok || better[key](v, b) {
				best[key] = v
			}
		}
	}
	for i, res := range r.Results {
		k := res.KPIs
		row := htmlRow{Policy: res.Policy, K: k, L: res.Layers, Best: map[string]bool{}}
		if k.Offered > 0 {
			row.ServedPct = 100 * float64(k.Served) / float64(k.Offered)
		}
		if res.Policy != PolicyOracle && res.Policy != PolicyOracleCausal {
			for key, v := range val(k) {
				row.Best[key] = v == best[key]
			}
		}
		rows[i] = row
	}
	return rows
}

var pageTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"f0": func(v float64) string { return fmt.Sprintf("%.0f", v) },
	"f1": func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"f2": func(v float64) string { return fmt.Sprintf("%.2f", v) },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>autotuner simulation: {{.Scenario}}</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1000px;color:#222;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
.meta{color:#555}table{border-collapse:collapse;width:100%;font-size:.9em}
th,td{padding:.35em .6em;text-align:right;border-bottom:1px solid #eee}th{background:#f6f6f6}
td:first-child,th:first-child{text-align:left}tr.oracle td{color:#666;font-style:italic}
td.best{background:#e7f5e7;font-weight:600}.notes{color:#8a5300;font-size:.9em}
svg{width:100%;height:auto}.legend{font-size:.85em;color:#555}
</style></head><body>
<h1>autotuner simulation: {{.Scenario}}</h1>
<p class="meta">{{.Description}}</p>
<p class="meta">Topology <b>{{.Topology}}</b> · {{.Duration}} simulated · seed {{.Seed}} · policies file <code>{{.Policies}}</code></p>
<h2>Key numbers</h2>
<table>
<tr><th>policy</th><th>offered</th><th>served</th><th>served %</th><th>lost</th><th>delayed</th><th>throttled</th><th title="API Gateway / Lambda / DynamoDB">by layer (API / Lambda / DynamoDB)</th><th>downstream errors</th><th>overload s</th><th>max queue age s</th><th>p99 queue age s</th><th>cost USD</th><th>actuations</th><th>reversals</th><th>quota violations</th></tr>
{{range .Rows}}<tr{{if or (eq .Policy "oracle") (eq .Policy "oracle-causal")}} class="oracle"{{end}}><td>{{.Policy}}</td><td>{{.K.Offered}}</td><td{{if index .Best "served"}} class="best"{{end}}>{{.K.Served}}</td><td>{{f2 .ServedPct}}</td><td{{if index .Best "lost"}} class="best"{{end}}>{{.K.Lost}}</td><td>{{.K.Delayed}}</td><td{{if index .Best "throttled"}} class="best"{{end}}>{{.K.Throttled}}</td><td>{{.L.APIGateway}} / {{.L.Lambda}} / {{.L.DynamoDB}}</td><td>{{.L.Downstream}}</td><td{{if index .Best "overload"}} class="best"{{end}}>{{.K.OverloadS}}</td><td>{{f0 .K.MaxQueueAgeS}}</td><td{{if index .Best "p99age"}} class="best"{{end}}>{{f0 .K.P99QueueAgeS}}</td><td{{if index .Best "cost"}} class="best"{{end}}>{{f2 .K.CostUSD}}</td><td>{{.K.Actuations}}</td><td>{{.K.Reversals}}</td><td>{{.K.QuotaViolations}}</td></tr>
{{end}}</table>
<p class="legend">Green marks the best real policy in a column. The <i>oracle</i> sees future demand and knows every actuation delay: it marks the physical limit, not a contender; <i>oracle-causal</i> knows the true demand only as CloudWatch reports it: a perfect reactive controller.
Lost requests never succeed; delayed ones failed at least once and then succeeded on a retry. Throttled counts throttle events at every layer (a message retried by the SQS poller counts each time). Overload seconds are seconds in which DynamoDB throttled or the downstream ran above its capacity.
Cost is provisioned DynamoDB capacity at list price; Lambda reserved concurrency is free. Data: <a href="timeline.csv">timeline.csv</a>, <a href="results.json">results.json</a>.</p>
{{if .Notes}}<h2>Notes</h2><ul class="notes">{{range .Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{range .Figures}}<h2>{{.Title}}</h2>
<p class="legend">Grey: what was asked for · blue: what was used or served · red: the limit in force. <a href="{{.PNG}}">PNG</a></p>
{{.SVG}}
{{end}}
</body></html>
`))
