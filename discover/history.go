package discover

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// Metric is the CloudWatch metric a resource's load is read from.
type Metric struct {
	Namespace, Name, Stat string
	Dims                  [][2]string
	PerSecond             bool // divide each period's Sum by its seconds
	Unit                  string
}

// Peak is the busiest period of a resource's history.
type Peak struct {
	Value  float64
	At     time.Time
	Points int // datapoints seen; 0 means no history
}

// HistoryPeriod is the period of the history read: fine enough to see a
// five-minute surge, coarse enough that 14 days fit few calls.
const HistoryPeriod = 5 * time.Minute

// perCall keeps a GetMetricData call under its 100,800 datapoints:
// 14 days of 5-minute periods are 4,032 a query.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html
const perCall = 24

// Peaks reads each resource's busiest period over the days before end,
// batched into as few GetMetricData calls as the datapoint limit allows.
func (c *Clients) Peaks(ctx context.Context, rs []Resource, end time.Time, days int) ([]Peak, error) {
	out := make([]Peak, len(rs))
	end = end.Truncate(HistoryPeriod)
	start := end.Add(-time.Duration(days) * 24 * time.Hour)
	var idx []int
	for i, r := range rs {
		if r.Metric.Name != "" {
			idx = append(idx, i)
		}
	}
	for len(idx) > 0 {
		n := min(perCall, len(idx))
		if err := c.peaks(ctx, rs, idx[:n], start, end, out); err != nil {
			return nil, err
		}
		idx = idx[n:]
	}
	return out, nil
}

func (c *Clients) peaks(ctx context.Context, rs []Resource, idx []int, start, end time.Time, out []Peak) error {
	in := &cloudwatch.GetMetricDataInput{StartTime: aws.Time(start), EndTime: aws.Time(end), ScanBy: cwtypes.ScanByTimestampAscending}
	for _, i := range idx {
		m := rs[i].Metric
		var dims []cwtypes.Dimension
		for _, d := range m.Dims {
			dims = append(dims, cwtypes.Dimension{Name: aws.String(d[0]), Value: aws.String(d[1])})
		}
		in.MetricDataQueries = append(in.MetricDataQueries, cwtypes.MetricDataQuery{
			Id: aws.String(fmt.Sprintf("q%d", i)),
			MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String(m.Namespace), MetricName: aws.String(m.Name), Dimensions: dims},
				Period: aws.Int32(int32(HistoryPeriod / time.Second)), Stat: aws.String(m.Stat),
			},
		})
	}
	p := cloudwatch.NewGetMetricDataPaginator(c.CloudWatch, in)
	for pages := 0; p.HasMorePages() && pages < 1000; pages++ {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("GetMetricData: %w", err)
		}
		for _, r := range page.MetricDataResults {
			var i int
			if _, err := fmt.Sscanf(aws.ToString(r.Id), "q%d", &i); err != nil || i < 0 || i >= len(out) {
				continue
			}
			for j, v := range r.Values {
				if rs[i].Metric.PerSecond {
					v /= HistoryPeriod.Seconds()
				}
				out[i].Points++
				if v > out[i].Value || out[i].Points == 1 {
					out[i].Value = v
					if j < len(r.Timestamps) {
						out[i].At = r.Timestamps[j]
					}
				}
			}
		}
	}
	return nil
}

// Target is the utilization the presets hold: bounds leave room for the
// busiest period at it.
const Target = 0.7

// Bounds are a target's min and max, and why, from the limit in force and
// the busiest period of its history: the need is the peak at 70%
// utilization; max is twice the larger of the limit and the need, min a
// quarter of the smaller, both within what the kind accepts.
type Bounds struct {
	Min, Max float64
	Why      string
}

// kindRange is what a kind accepts: its least value and its service
// maximum (config's bounds checks say the same).
func kindRange(r *Resource) (lo, hi float64) {
	switch r.Kind {
	case "lambda-sqs-max-concurrency":
		return 2, 1000
	case "apigateway-usage-plan", "apigateway-stage", "apigatewayv2-stage":
		return 1, 10000
	case "dynamodb-provisioned", "dynamodb-on-demand-max":
		return 1, 40000
	}
	return 1, 100000
}

// BoundsFor chooses r's bounds from its limit and its peak.
func BoundsFor(r *Resource, p Peak, days int) Bounds {
	lo, hi := kindRange(r)
	clamp := func(v float64) float64 { return math.Min(hi, math.Max(lo, math.Ceil(v))) }
	var b Bounds
	switch {
	case p.Points > 0 && r.HasLimit:
		need := p.Value / Target
		b.Max = clamp(2 * math.Max(r.Current, need))
		b.Min = math.Min(b.Max, clamp(math.Min(r.Current, need)/4))
		b.Why = fmt.Sprintf("%d-day peak %s %s (%s) needs %s at %.0f%%; min %s is a quarter of the smaller of it and the current %s, max %s twice the larger",
			days, num(p.Value), r.Metric.Unit, p.At.UTC().Format("2006-01-02 15:04"), num(need), Target*100, num(b.Min), num(r.Current), num(b.Max))
	case r.HasLimit:
		b.Max = clamp(2 * r.Current)
		b.Min = math.Min(b.Max, clamp(r.Current/4))
		b.Why = fmt.Sprintf("no datapoints in %d days; min %s is a quarter of the current %s, max %s twice it", days, num(b.Min), num(r.Current), num(b.Max))
	case p.Points > 0:
		need := p.Value / Target
		b.Max = clamp(2 * need)
		b.Min = math.Min(b.Max, clamp(need/4))
		b.Why = fmt.Sprintf("no limit in force; %d-day peak %s %s needs %s at %.0f%%; min %s is a quarter of it, max %s twice it",
			days, num(p.Value), r.Metric.Unit, num(need), Target*100, num(b.Min), num(b.Max))
	default:
		b.Min, b.Max = lo, clamp(max(lo, 10))
		b.Why = fmt.Sprintf("no limit in force and no datapoints in %d days: placeholder bounds %s..%s; set them yourself", days, num(b.Min), num(b.Max))
	}
	return b
}

func num(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
