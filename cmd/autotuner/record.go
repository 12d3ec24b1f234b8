package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/internal/awsclient"
	"github.com/autotuner/autotuner/sensors"
)

func init() {
	register(command{name: "record", summary: "export the CloudWatch history of a policies file's signals as a trace CSV for simulate", run: runRecord})
}

// recordNow is the wall clock; tests replace it.
var recordNow = time.Now

// maxQueriesPerCall is GetMetricData's limit.
const maxQueriesPerCall = 500

// recorded is one exported series.
type recorded struct {
	name   string // target.signal
	target *config.Target
	signal *config.Signal
	points map[int64]float64 // period start (unix) → value
}

func runRecord(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "record", "[-c policies.yaml] [--days N] [--period 1m] [--out trace.csv]")
	cfgPath := configFlag(fs)
	days := fs.Int("days", 14, "how many days back to export (CloudWatch keeps 1-minute data 15 days, 5-minute data 63)")
	period := fs.Duration("period", time.Minute, "datapoint period, a multiple of 1m")
	out := fs.String("out", "trace.csv", "output CSV; - for stdout")
	only := fs.String("targets", "", "comma-separated target names (default: all)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *days < 1 || *days > 455 {
		fmt.Fprintf(e.stderr, "autotuner record: --days must be between 1 and 455, got %d\n", *days)
		return exitUsage
	}
	if *period < time.Minute || *period%time.Minute != 0 {
		fmt.Fprintf(e.stderr, "autotuner record: --period must be a multiple of 1m, got %s\n", *period)
		return exitUsage
	}
	f, err := loadPolicies(ctx, e, *cfgPath, false)
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return exitUsage
	}
	series, err := recordSeries(f, splitList(*only))
	if err != nil {
		fmt.Fprintf(e.stderr, "autotuner record: %v\n", err)
		return exitUsage
	}
	fac, err := awsclient.New(ctx, awsclient.Options{Region: f.Defaults.Region, CloudWatchProtocol: e.getenv(awsclient.ProtocolEnv)})
	if err != nil {
		fmt.Fprintf(e.stderr, "autotuner record: %v\n", err)
		return exitFailure
	}
	clients := sensors.FromFactory(fac)
	// Only complete periods: end at now − metric delay, aligned, as the
	// sensor reads them.
	end := recordNow().UTC().Add(-f.Defaults.MetricDelay).Truncate(*period)
	start := end.Add(-time.Duration(*days) * 24 * time.Hour)

	// One batch of calls per region and role.
	type key struct{ region, role string }
	groups := map[key][]*recorded{}
	var order []key
	for _, s := range series {
		k := key{s.target.Region, s.target.RoleARN}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], s)
	}
	for _, k := range order {
		c, err := clients(k.region, k.role)
		if err != nil {
			fmt.Fprintf(e.stderr, "autotuner record: %v\n", err)
			return exitFailure
		}
		if err := fetchHistory(ctx, c.Metrics, groups[k], start, end, *period); err != nil {
			fmt.Fprintf(e.stderr, "autotuner record: region %s: %v\n", k.region, err)
			return exitFailure
		}
	}

	w := e.stdout
	if *out != "-" {
		file, err := os.Create(*out)
		if err != nil {
			fmt.Fprintf(e.stderr, "autotuner record: %v\n", err)
			return exitFailure
		}
		defer file.Close()
		w = file
	}
	if err := writeTrace(w, series, start, end, *period); err != nil {
		fmt.Fprintf(e.stderr, "autotuner record: writing %s: %v\n", *out, err)
		return exitFailure
	}
	fmt.Fprintf(e.stderr, "recorded %d series, %s to %s every %s, into %s\nreplay one in a scenario with:\n  traffic: {trace: {file: %s, column: %s, step: %s}}\n",
		len(series), start.Format(time.RFC3339), end.Format(time.RFC3339), *period, *out, *out, series[0].name, *period)
	return exitOK
}

// recordSeries lists the CloudWatch signals of the chosen targets.
func recordSeries(f *config.File, only []string) ([]*recorded, error) {
	var out []*recorded
	for _, t := range f.Targets {
		if len(only) > 0 && !slices.Contains(only, t.Name) {
			continue
		}
		for _, s := range t.SignalList {
			if s.Source != config.SourceCloudWatch {
				continue // GetQueueAttributes has no history
			}
			out = append(out, &recorded{name: t.Name + "." + s.Name, target: t, signal: s, points: map[int64]float64{}})
		}
	}
	for _, n := range only {
		if f.Target(n) == nil {
			return nil, fmt.Errorf("--targets names %q, which is not in %s", n, f.Path)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no CloudWatch signals to record", f.Path)
	}
	return out, nil
}

// fetchHistory reads every series over [start, end), 500 queries a call,
// following NextToken.
func fetchHistory(ctx context.Context, api cloudwatch.GetMetricDataAPIClient, series []*recorded, start, end time.Time, period time.Duration) error {
	sec := int32(period / time.Second)
	for lo := 0; lo < len(series); lo += maxQueriesPerCall {
		batch := series[lo:min(lo+maxQueriesPerCall, len(series))]
		byID := map[string]*recorded{}
		var qs []types.MetricDataQuery
		for i, s := range batch {
			id := "r" + strconv.Itoa(i)
			byID[id] = s
			q := types.MetricDataQuery{Id: aws.String(id), ReturnData: aws.Bool(true)}
			if s.signal.Expression != "" {
				q.Expression, q.Period = aws.String(s.signal.Expression), aws.Int32(sec)
			} else {
				var dims []types.Dimension
				for _, k := range sortedKeys(s.signal.Dimensions) {
					dims = append(dims, types.Dimension{Name: aws.String(k), Value: aws.String(s.signal.Dimensions[k])})
				}
				q.MetricStat = &types.MetricStat{
					Metric: &types.Metric{Namespace: aws.String(s.signal.Namespace), MetricName: aws.String(s.signal.Metric), Dimensions: dims},
					Period: aws.Int32(sec), Stat: aws.String(s.signal.Stat),
				}
			}
			qs = append(qs, q)
		}
		in := &cloudwatch.GetMetricDataInput{MetricDataQueries: qs, StartTime: aws.Time(start), EndTime: aws.Time(end), ScanBy: types.ScanByTimestampAscending}
		p := cloudwatch.NewGetMetricDataPaginator(api, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, r := range page.MetricDataResults {
				s := byID[aws.ToString(r.Id)]
				if s == nil {
					continue
				}
				if r.StatusCode == types.StatusCodeForbidden || r.StatusCode == types.StatusCodeInternalError {
					return fmt.Errorf("%s: GetMetricData status %s", s.name, r.StatusCode)
				}
				for i, ts := range r.Timestamps {
					if i < len(r.Values) {
						s.points[ts.Unix()] = r.Values[i]
					}
				}
			}
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// writeTrace writes one row per period and one column per series, in the
// long format `simulate` replays (`traffic.trace.column`). A period
// without a datapoint is left empty, which replay reads as 0.
func writeTrace(w io.Writer, series []*recorded, start, end time.Time, period time.Duration) error {
	cw := csv.NewWriter(w)
	header := []string{"timestamp"}
	for _, s := range series {
		header = append(header, s.name)
	}
	cw.Write(header)
	row := make([]string, len(header))
	for ts := start; ts.Before(end); ts = ts.Add(period) {
		row[0] = ts.Format("2006-01-02 15:04")
		for i, s := range series {
			row[i+1] = ""
			if v, ok := s.points[ts.Unix()]; ok {
				row[i+1] = strconv.FormatFloat(v, 'g', -1, 64)
			}
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
