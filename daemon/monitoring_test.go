package daemon

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// The monitoring files in deploy/ are checked against the metrics this
// package really exports: a renamed metric breaks the build of the
// dashboard and the alerts, not a night's paging.
const (
	alertsFile    = "../deploy/prometheus/alerts.yaml"
	dashboardFile = "../deploy/grafana/autotuner.json"
)

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

// exportedNames collects every series name the daemon's registry can
// serve: each collector's descriptions, plus the _bucket/_sum/_count
// series of its histograms and summaries.
func exportedNames(t *testing.T) map[string]bool {
	t.Helper()
	m := NewMetrics()
	names := map[string]bool{}
	ch := make(chan *prometheus.Desc, 512)
	go func() {
		for _, c := range m.collectors() {
			c.Describe(ch)
		}
		close(ch)
	}()
	for d := range ch {
		if mm := fqName.FindStringSubmatch(d.String()); mm != nil {
			names[mm[1]] = true
		}
	}
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		names[mf.GetName()] = true
		if t := mf.GetType(); t == dto.MetricType_HISTOGRAM || t == dto.MetricType_SUMMARY {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[mf.GetName()+s] = true
			}
		}
	}
	for _, must := range []string{"autotuner_build_info", "autotuner_ticks_total", "autotuner_errors_total", "autotuner_guard_limited_total", "autotuner_drift_total", "go_goroutines"} {
		if !names[must] {
			t.Fatalf("the registry does not describe %s; found %d names", must, len(names))
		}
	}
	return names
}

// metricsIn lists the metric names a PromQL expression selects.
func metricsIn(t *testing.T, p parser.Parser, where, expr string) []string {
	t.Helper()
	e, err := p.ParseExpr(expr)
	if err != nil {
		t.Fatalf("%s: %q does not parse: %v", where, expr, err)
	}
	var out []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			name := vs.Name
			for _, m := range vs.LabelMatchers {
				if m.Name == model.MetricNameLabel {
					name = m.Value
				}
			}
			out = append(out, name)
		}
		return nil
	})
	if len(out) == 0 {
		t.Errorf("%s: %q selects no metric", where, expr)
	}
	return out
}

func checkNames(t *testing.T, exported map[string]bool, where string, used []string) {
	t.Helper()
	for _, n := range used {
		if !exported[n] {
			t.Errorf("%s: metric %q is not exported by the daemon", where, n)
		}
	}
}

func TestAlertRulesParseAndNameExportedMetrics(t *testing.T) {
	exported := exportedNames(t)
	raw, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	p := parser.NewParser(parser.Options{})
	groups, errs := rulefmt.Parse(raw, false, model.UTF8Validation, p, nil)
	if len(errs) > 0 {
		t.Fatalf("%s does not parse: %v", alertsFile, errs)
	}
	var alerts []string
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			where := alertsFile + ": " + r.Alert + r.Record
			checkNames(t, exported, where, metricsIn(t, p, where, r.Expr))
			if r.Alert != "" && (r.Annotations["summary"] == "" || r.Annotations["description"] == "") {
				t.Errorf("%s: an alert needs a summary and a description", where)
			}
			alerts = append(alerts, r.Alert)
		}
	}
	// The alerts the operations guide promises.
	for _, want := range []string{"AutotunerNotTicking", "AutotunerErrorsNeedAHuman", "AutotunerQuotaRefusals", "AutotunerPinnedAtBound", "AutotunerStateSaveFailing", "AutotunerDrift"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("%s has no alert %s (has %v)", alertsFile, want, alerts)
		}
	}
	doc, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range alerts {
		if !strings.Contains(string(doc), a) {
			t.Errorf("docs/operations.md does not explain alert %s", a)
		}
	}
}

// grafanaVars are the dashboard's own variables, given values PromQL accepts.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h")

type dashboard struct {
	Title  string `json:"title"`
	UID    string `json:"uid"`
	Panels []struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

var labelValues = regexp.MustCompile(`^label_values\((.+), *\w+\)$`)

func TestDashboardQueriesNameExportedMetrics(t *testing.T) {
	exported := exportedNames(t)
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if d.UID == "" || d.Title == "" || len(d.Panels) < 10 {
		t.Fatalf("%s: uid %q, title %q, %d panels", dashboardFile, d.UID, d.Title, len(d.Panels))
	}
	p := parser.NewParser(parser.Options{})
	seen := map[string]bool{}
	for _, pn := range d.Panels {
		if len(pn.Targets) == 0 {
			t.Errorf("panel %q has no query", pn.Title)
		}
		for _, q := range pn.Targets {
			used := metricsIn(t, p, "panel "+pn.Title, grafanaVars.Replace(q.Expr))
			checkNames(t, exported, "panel "+pn.Title, used)
			for _, n := range used {
				seen[n] = true
			}
		}
	}
	for _, v := range d.Templating.List {
		q, ok := v.Query.(map[string]any)
		if !ok {
			continue
		}
		s, _ := q["query"].(string)
		m := labelValues.FindStringSubmatch(s)
		if m == nil {
			t.Errorf("variable %s: query %q is not label_values(SELECTOR, LABEL)", v.Name, s)
			continue
		}
		checkNames(t, exported, "variable "+v.Name, metricsIn(t, p, "variable "+v.Name, grafanaVars.Replace(m[1])))
	}
	// Every autotuner series has a panel.
	for n := range exported {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_sum"), "_count")
		if strings.HasPrefix(n, "autotuner_") && !seen[n] && !seen[base+"_bucket"] && !seen[base] {
			t.Errorf("no panel shows %s", n)
		}
	}
}
