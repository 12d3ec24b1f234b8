package actuators

import (
	"testing"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/internal/awsclient"
)

func TestCheckEvery(t *testing.T) {
	many := func(n int, mk func(i int) *config.Target) []*config.Target {
		var out []*config.Target
		for i := range n {
			out = append(out, mk(i))
		}
		return out
	}
	lambdas := many(1000, func(i int) *config.Target { return &config.Target{Kind: config.LambdaReservedConcurrency} })
	tables := many(1000, func(i int) *config.Target {
		return &config.Target{Kind: config.DynamoDBProvisioned, Table: string(rune('a'+i%26)) + string(rune('a'+i/26))}
	})
	// Reads and writes of 500 tables: one DescribeTable each.
	shared := many(1000, func(i int) *config.Target {
		return &config.Target{Kind: config.DynamoDBProvisioned, Table: string(rune('a'+(i/2)%26)) + string(rune('a'+(i/2)/26))}
	})
	otherRegion := many(1000, func(i int) *config.Target {
		r := "us-east-1"
		if i%2 == 0 {
			r = "eu-west-1"
		}
		return &config.Target{Kind: config.LambdaReservedConcurrency, Region: r}
	})
	for _, tc := range []struct {
		name    string
		targets []*config.Target
		want    int
	}{
		{"few", lambdas[:50], 1},
		{"1000 lambda: 450 GetFunction reads in 5 s at 90 rps", lambdas, 3},
		{"1000 tables: capped at 500 reads", tables, 2},
		{"500 tables, read and write", shared, 1},
		{"mixed takes the largest", append(append([]*config.Target{}, lambdas...), tables...), 3},
		{"quotas are per region", otherRegion, 2},
		{"event source mappings share the 15 rps plane", many(1000, func(int) *config.Target { return &config.Target{Kind: config.LambdaSQSMaxConcurrency} }), 17},
	} {
		if got := CheckEvery(tc.targets, awsclient.DefaultRates, DefaultReadTime); got != tc.want {
			t.Errorf("%s: CheckEvery = %d, want %d", tc.name, got, tc.want)
		}
	}
}
