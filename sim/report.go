package sim

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// Report is a comparison of policies on one scenario and seed.
type Report struct {
	Setup   *Setup
	Results []*Result
}

// NewReport gathers the results of one comparison.
func NewReport(s *Setup, results []*Result) *Report { return &Report{Setup: s, Results: results} }

// Summary is the JSON that `autotuner simulate --format json` prints.
// Its keys are a stable interface.
type Summary struct {
	Scenario  string    `json:"scenario"`
	Seed      uint64    `json:"seed"`
	DurationS int64     `json:"duration_s"`
	Results   []*Result `json:"results"`
}

// Summary returns the report's JSON object.
func (r *Report) Summary() Summary {
	return Summary{Scenario: r.Setup.Scenario.Name, Seed: r.Setup.Scenario.Seed, DurationS: r.Setup.DurationS, Results: r.Results}
}

// WriteJSON writes exactly one JSON object and a newline.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.Marshal(r.Summary())
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Write puts the report in dir: report.html (charts inline), one PNG per
// chart, timeline.csv and results.json. It returns the paths written,
// report.html first.
func (r *Report) Write(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	write := func(name string, fill func(io.Writer) error) error {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		if err := fill(f); err != nil {
			f.Close()
			return fmt.Errorf("%s: %w", p, err)
		}
		if err := f.Close(); err != nil {
			return err
		}
		files = append(files, p)
		return nil
	}
	if err := write("report.html", r.writeHTML(dir, &files)); err != nil {
		return nil, err
	}
	if err := write("timeline.csv", r.WriteTimelineCSV); err != nil {
		return nil, err
	}
	if err := write("results.json", r.WriteJSON); err != nil {
		return nil, err
	}
	html := filepath.Join(dir, "report.html")
	files = slices.DeleteFunc(files, func(f string) bool { return f == html })
	return append([]string{html}, files...), nil
}

// timelineColumns are the CSV columns, in order.
var timelineColumns = []string{"policy", "minute", "offered_rps", "served_rps", "lost", "delayed", "throttled_api_gateway", "throttled_lambda", "throttled_dynamodb", "downstream_errors",
	"api_rate_limit", "lambda_need", "lambda_used", "lambda_limit", "table_need", "table_used", "table_limit",
	"queue_depth", "queue_age_s", "downstream_load_rps", "downstream_capacity_rps", "downstream_latency_ms", "cost_usd"}

// WriteTimelineCSV writes every policy's timeline, minute by minute.
func (r *Report) WriteTimelineCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write(timelineColumns)
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	row := make([]string, len(timelineColumns))
	for _, res := range r.Results {
		tl := res.Timeline
		for m := range tl.Offered {
			cols := []float64{tl.Offered[m], tl.Served[m], tl.Lost[m], tl.Delayed[m], tl.APIThrottled[m], tl.LambdaThrottled[m], tl.TableThrottled[m], tl.DownstreamErrors[m],
				tl.APIRate[m], tl.LambdaNeed[m], tl.LambdaUsed[m], tl.LambdaLimit[m], tl.TableNeed[m], tl.TableUsed[m], tl.TableLimit[m],
				tl.QueueDepth[m], tl.QueueAge[m], tl.DownstreamLoad[m], tl.DownstreamCapacity[m], tl.DownstreamLatencyMs[m], tl.CostUSD[m]}
			row[0], row[1] = res.Policy, strconv.Itoa(m)
			for i, v := range cols {
				row[i+2] = f(v)
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
