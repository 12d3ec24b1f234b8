package actuators

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsclient"
	"github.com/autotuner/autotuner/internal/awsfake"
	"github.com/autotuner/autotuner/policy"
	"github.com/autotuner/autotuner/sensors"
	"github.com/autotuner/autotuner/state"
)

// fleetFile writes n targets of the given kinds in turn, three signals
// each; every 50th target sees demand well above its limit, the rest sit
// in their band: a busy steady state.
func fleetFile(n int, kinds ...config.Kind) string {
	var b strings.Builder
	b.WriteString("version: 1\ndefaults: {region: us-east-1, metric_delay: 2m}\ntargets:\n")
	for i := range n {
		switch kinds[i%len(kinds)] {
		case config.LambdaReservedConcurrency:
			fmt.Fprintf(&b, `  - name: fn%[1]d
    kind: lambda-reserved-concurrency
    function: fn%[1]d
    min: 1
    max: 400
    signals:
      throttles: {namespace: AWS/Lambda, metric: Throttles, dimensions: {FunctionName: fn%[1]d}, stat: Sum, missing: zero}
      invocations: {namespace: AWS/Lambda, metric: Invocations, dimensions: {FunctionName: fn%[1]d}, stat: Sum, missing: zero}
      busy: {namespace: AWS/Lambda, metric: ConcurrentExecutions, dimensions: {FunctionName: fn%[1]d}, stat: Maximum}
    policy:
      autotuner:
        utilization: {signal: busy, target: 70%%}
        throttles: {signal: throttles, requests: invocations}
`, i)
		case config.DynamoDBProvisioned:
			fmt.Fprintf(&b, `  - name: tb%[1]d
    kind: dynamodb-provisioned
    table: tb%[1]d
    capacity: write
    min: 1
    max: 4000
    signals:
      consumed: {namespace: AWS/DynamoDB, metric: ConsumedWriteCapacityUnits, dimensions: {TableName: tb%[1]d}, stat: Sum, per_second: true}
      throttled: {namespace: AWS/DynamoDB, metric: WriteThrottleEvents, dimensions: {TableName: tb%[1]d}, stat: Sum, missing: zero}
      reads: {namespace: AWS/DynamoDB, metric: ConsumedReadCapacityUnits, dimensions: {TableName: tb%[1]d}, stat: Sum, per_second: true}
    policy:
      autotuner:
        utilization: {signal: consumed, target: 70%%}
        throttles: throttled
`, i)
		case config.APIGatewayStage:
			fmt.Fprintf(&b, `  - name: st%[1]d
    kind: apigateway-stage
    rest_api: api%[1]d
    stage: prod
    min: 1
    max: 5000
    signals:
      requests: {namespace: AWS/ApiGateway, metric: Count, dimensions: {ApiName: api%[1]d, Stage: prod}, stat: Sum, per_second: true}
      errors_4xx: {namespace: AWS/ApiGateway, metric: 4XXError, dimensions: {ApiName: api%[1]d, Stage: prod}, stat: Sum, missing: zero}
      latency: {namespace: AWS/ApiGateway, metric: Latency, dimensions: {ApiName: api%[1]d, Stage: prod}, stat: p99}
    policy:
      autotuner:
        utilization: {signal: requests, target: 70%%}
        throttles: errors_4xx
`, i)
		case config.APIGatewayV2Stage:
			fmt.Fprintf(&b, `  - name: hs%[1]d
    kind: apigatewayv2-stage
    api_id: api%[1]d
    stage: prod
    min: 1
    max: 5000
    signals:
      requests: {namespace: AWS/ApiGateway, metric: Count, dimensions: {ApiId: api%[1]d, Stage: prod}, stat: Sum, per_second: true}
      errors_4xx: {namespace: AWS/ApiGateway, metric: 4xx, dimensions: {ApiId: api%[1]d, Stage: prod}, stat: Sum, missing: zero}
      latency: {namespace: AWS/ApiGateway, metric: Latency, dimensions: {ApiId: api%[1]d, Stage: prod}, stat: p99}
    policy:
      autotuner:
        utilization: {signal: requests, target: 70%%}
        throttles: errors_4xx
`, i)
		}
	}
	return b.String()
}

const limit = 100 // every knob starts at 100

func hot(name string) bool {
	var i int
	fmt.Sscanf(strings.TrimLeft(name, "fntbsapi"), "%d", &i)
	return i%50 == 0
}

// benchTick runs one steady-state tick per iteration over the wire-level
// fakes with 20 ms latency, the real client-side rates, and the fake
// enforcing AWS's quotas.
func benchTick(b *testing.B, warm bool, n int, kinds ...config.Kind) {
	fake := awsfake.Start(b)
	fake.Latency = 20 * time.Millisecond
	fake.Quota("lambda", 15, 15)
	fake.Quota("lambda-get", 100, 100) // GetFunction's own quota
	fake.Quota("apigateway", 10, 40)
	fake.Quota("usageplan-update", 1.0/20, 1)
	fake.Quota("dynamodb", 2500, 2500)
	fake.Quota("cloudwatch", 50, 50)
	fake.Lambda.AccountLimit = 1000000
	f, err := config.Parse("bench.yaml", []byte(fleetFile(n, kinds...)))
	if err != nil {
		b.Fatal(err)
	}
	mem := state.NewMem()
	for _, t := range f.Targets {
		switch t.Kind {
		case config.LambdaReservedConcurrency:
			fake.Lambda.AddFunction(t.Function, ptr(limit))
		case config.DynamoDBProvisioned:
			fake.DynamoDB.AddTable(t.Table, awsfake.Table{Provisioned: awsfake.Capacity{Read: limit, Write: limit}})
		case config.APIGatewayStage:
			fake.APIGateway.AddStage(t.RestAPI, t.Stage, awsfake.Stage{MethodSettings: map[string]awsfake.Throttle{"*/*": {Rate: limit, Burst: 2 * limit}}})
		case config.APIGatewayV2Stage:
			rate, burst := float64(limit), 2*limit
			fake.APIGatewayV2.AddAPI(t.APIID, t.APIID)
			fake.APIGatewayV2.AddStage(t.APIID, t.Stage, awsfake.HTTPStage{Default: awsfake.RouteSettings{ThrottlingRateLimit: &rate, ThrottlingBurstLimit: &burst}})
		}
		if !warm {
			continue
		}
		// Steady state: autotuner set every limit before.
		m := policy.NewMemory()
		m.Actuation.LastSet, m.Actuation.HaveLastSet = limit, true
		m.Actuation.Original, m.Actuation.HaveOriginal = limit, true
		mem.Save(ctx, t.Name, m)
	}
	fake.CloudWatch.Value = func(q awsfake.MetricDataQuery, ts time.Time) (float64, bool) {
		m := q.Metric()
		name := m.Dimensions["FunctionName"] + m.Dimensions["TableName"] + m.Dimensions["ApiName"] + m.Dimensions["ApiId"]
		load := 0.7 * limit
		if hot(name) {
			load = 1.5 * limit
		}
		switch m.Name {
		case "ConcurrentExecutions":
			return load, true
		case "ConsumedWriteCapacityUnits", "Count":
			return load * 60, true
		case "Invocations", "ConsumedReadCapacityUnits", "Latency":
			return 1000, true
		}
		return 0, false
	}
	fac, err := awsclient.New(ctx, awsclient.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctl := &controller.Controller{
		Config:     f,
		Sensor:     &sensors.CloudWatch{Clients: sensors.FromFactory(fac)},
		Actuators:  All(fac.For),
		Store:      mem,
		CheckEvery: CheckEvery(f.Targets, fac.Rates(), DefaultReadTime),
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	fake.Reset()
	var ticks, errs, applied int
	b.ResetTimer()
	for b.Loop() {
		res, err := ctl.Tick(ctx, now, controller.TickOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res.Records {
			if r.Error != "" {
				errs++
				if errs < 3 && warm {
					b.Logf("%s: %s", r.Target, r.Error)
				}
			}
			if r.Applied {
				applied++
			}
		}
		ticks++
		now = now.Add(time.Minute)
	}
	b.StopTimer()
	count := fake.Count()
	b.ReportMetric(float64(count["GetMetricData"])/float64(ticks), "GetMetricData/op")
	b.ReportMetric(float64(len(fake.Calls("")))/float64(ticks), "calls/op")
	b.ReportMetric(float64(applied)/float64(ticks), "applied/op")
	b.ReportMetric(float64(errs)/float64(ticks), "errors/op")
	b.ReportMetric(float64(ctl.CheckEvery), "check_every")
	viol := 0
	for _, p := range []string{"lambda", "lambda-get", "apigateway", "usageplan-update", "dynamodb", "cloudwatch"} {
		viol += fake.Violations(p)
	}
	b.ReportMetric(float64(viol), "quota_violations")
	b.ReportMetric(float64(fake.PeakRate("lambda")), "lambda_peak_rps")
	b.ReportMetric(float64(fake.PeakRate("lambda-get")), "lambda_get_peak_rps")
	b.ReportMetric(float64(fake.PeakRate("apigateway")), "apigw_peak_rps")
	if count["GetMetricData"] > 6*ticks {
		b.Errorf("%d GetMetricData calls in %d ticks, want at most 6 a tick", count["GetMetricData"], ticks)
	}
	if viol > 0 {
		b.Errorf("%d calls over a service quota", viol)
	}
}

func BenchmarkTick1000DynamoDB(b *testing.B) { benchTick(b, true, 1000, config.DynamoDBProvisioned) }
func BenchmarkTick1000Lambda(b *testing.B) {
	benchTick(b, true, 1000, config.LambdaReservedConcurrency)
}
func BenchmarkTick1000Mixed(b *testing.B) {
	benchTick(b, true, 1000, config.LambdaReservedConcurrency, config.DynamoDBProvisioned, config.APIGatewayStage)
}

// BenchmarkColdTick1000Lambda is the first tick of a fresh state: every
// value is unknown, and the per-tick budget spreads the reads over ticks.
func BenchmarkColdTick1000Lambda(b *testing.B) {
	benchTick(b, false, 1000, config.LambdaReservedConcurrency)
}

// BenchmarkTick200Stages and BenchmarkTick200HTTPStages compare a fleet of
// REST stages with one of HTTP API stages: both share API Gateway's 10 rps
// management quota; an HTTP API change reads the stage before it writes.
func BenchmarkTick200Stages(b *testing.B) { benchTick(b, true, 200, config.APIGatewayStage) }
func BenchmarkTick200HTTPStages(b *testing.B) {
	benchTick(b, true, 200, config.APIGatewayV2Stage)
}
