package sensors

import (
	"context"
	"encoding/binary"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/fxamacker/cbor/v2"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/policy"
)

var idRE = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]{0,254}$`)

// checkReadings asserts what any answer, however odd, may produce: only
// declared signals, stamped inside the window, a valid reading only from a
// datapoint or a missing: zero rule.
func checkReadings(t *testing.T, p *Plan, targets []*config.Target, out map[string]policy.Signals) {
	t.Helper()
	declared := map[string]*config.Target{}
	for _, tg := range targets {
		declared[tg.Name] = tg
	}
	b := p.Batches[0]
	for tn, sigs := range out {
		tg := declared[tn]
		if tg == nil {
			t.Fatalf("reading for undeclared target %q", tn)
		}
		for sn, s := range sigs {
			sg := tg.Signals[sn]
			if sg == nil {
				t.Fatalf("reading for undeclared signal %s.%s", tn, sn)
			}
			if !s.Valid {
				continue
			}
			if s.At.Before(b.start) || !s.At.Before(b.end) {
				t.Fatalf("%s.%s stamped %s, outside %s..%s", tn, sn, s.At, b.start, b.end)
			}
		}
	}
}

// FuzzFanOut feeds arbitrary results — unknown IDs, timestamps anywhere,
// any status, NaN — to the ID mapping and the missing-data rules.
func FuzzFanOut(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte("some longer seed with assorted bytes for several results"))
	targets := parse(f, fleet(3)+twoTargets[len("version: 1\ndefaults: {region: us-east-1, metric_delay: 2m}\ntargets:\n"):]).Targets
	p := NewPlan(targets, now, DefaultLookback)
	var ids []string
	for id := range p.Batches[0].fan {
		ids = append(ids, id)
	}
	statuses := []types.StatusCode{types.StatusCodeComplete, types.StatusCodePartialData, types.StatusCodeInternalError, types.StatusCodeForbidden, ""}
	f.Fuzz(func(t *testing.T, data []byte) {
		var results []types.MetricDataResult
		for len(data) >= 11 {
			r := types.MetricDataResult{StatusCode: statuses[int(data[1])%len(statuses)]}
			if data[0]%7 == 0 {
				r.Id = aws.String(string(data[2:5]))
			} else {
				r.Id = aws.String(ids[int(data[0])%len(ids)])
			}
			off := time.Duration(int8(data[2])) * time.Minute
			v := math.Float64frombits(binary.LittleEndian.Uint64(data[3:11]))
			r.Timestamps = []time.Time{p.Batches[0].end.Add(off)}
			r.Values = []float64{v}
			if data[1]&0x80 != 0 {
				r.Values = nil // fewer values than timestamps
			}
			results = append(results, r)
			data = data[11:]
		}
		acc := map[string]*series{}
		merge(acc, results)
		out := map[string]policy.Signals{}
		p.Batches[0].fanOut(acc, out)
		checkReadings(t, p, targets, out)
	})
}

// FuzzGetMetricDataResponse sends arbitrary bytes as a CBOR GetMetricData
// answer through the real SDK client: decoding may fail, never panic, and
// whatever decodes maps to readings within the rules.
func FuzzGetMetricDataResponse(f *testing.F) {
	targets := parse(f, fleet(2)).Targets
	p := NewPlan(targets, now, DefaultLookback)
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/cbor")
		w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
		w.Write(body)
	}))
	f.Cleanup(srv.Close)
	client := cloudwatch.New(cloudwatch.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      aws.AnonymousCredentials{},
		RetryMaxAttempts: 1,
	})
	em, _ := cbor.EncOptions{Time: cbor.TimeUnixDynamic, TimeTag: cbor.EncTagRequired}.EncMode()
	for id := range p.Batches[0].fan {
		seed, _ := em.Marshal(map[string]any{"MetricDataResults": []any{map[string]any{
			"Id": id, "StatusCode": "Complete", "Timestamps": []time.Time{p.Batches[0].end.Add(-time.Minute)}, "Values": []float64{3},
		}}})
		f.Add(seed)
	}
	f.Add([]byte{0xa0})
	f.Fuzz(func(t *testing.T, data []byte) {
		body = data
		res, err := client.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
			StartTime: aws.Time(p.Batches[0].start), EndTime: aws.Time(p.Batches[0].end), MetricDataQueries: p.Batches[0].queries,
		})
		if err != nil {
			return
		}
		acc := map[string]*series{}
		merge(acc, res.MetricDataResults)
		out := map[string]policy.Signals{}
		p.Batches[0].fanOut(acc, out)
		checkReadings(t, p, targets, out)
	})
}

// FuzzQueryIDs checks that any metric and expression get a valid, stable
// CloudWatch ID, distinct for distinct metrics.
func FuzzQueryIDs(f *testing.F) {
	f.Add("AWS/Lambda", "Throttles", "FunctionName", "orders", "Sum", "throttles / busy")
	f.Add("", "", "", "", "", "SEARCH('{AWS/Lambda} busy', 'Sum')")
	f.Fuzz(func(t *testing.T, ns, metric, dim, val, stat, expr string) {
		a := &config.Signal{Name: "busy", Namespace: ns, Metric: metric, Dimensions: map[string]string{dim: val}, Stat: stat, Period: time.Minute}
		b := &config.Signal{Name: "other", Namespace: ns + "x", Metric: metric, Dimensions: map[string]string{dim: val}, Stat: stat, Period: time.Minute}
		ids := map[string]string{}
		ia := uniqueID(ids, "m", metricKey(a))
		ib := uniqueID(ids, "m", metricKey(b))
		if !idRE.MatchString(ia) || !idRE.MatchString(ib) || ia == ib {
			t.Fatalf("ids %q %q", ia, ib)
		}
		if again := uniqueID(ids, "m", metricKey(a)); again != ia {
			t.Fatalf("id not stable: %q then %q", ia, again)
		}
		rewritten, needs := rewriteExpression(expr, map[string]string{"busy": ia})
		for _, n := range needs {
			if n != ia {
				t.Fatalf("expression %q needs %q", expr, n)
			}
		}
		if again, _ := rewriteExpression(expr, map[string]string{"busy": ia}); again != rewritten {
			t.Fatal("rewrite not deterministic")
		}
	})
}
