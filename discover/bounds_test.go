package discover

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	"pgregory.net/rapid"

	"github.com/autotuner/autotuner/config"
)

func TestBoundsFor(t *testing.T) {
	fn := &Resource{Kind: config.LambdaReservedConcurrency, Current: 50, HasLimit: true, Metric: Metric{Unit: "concurrent executions"}}
	at := time.Date(2026, 12, 1, 10, 5, 0, 0, time.UTC)
	for _, c := range []struct {
		name     string
		r        *Resource
		p        Peak
		min, max float64
		why      string
	}{
		{"peak above the limit", fn, Peak{Value: 70, At: at, Points: 10}, 13, 200, "14-day peak 70 concurrent executions (2026-12-01 10:05) needs 100 at 70%"},
		{"quiet", fn, Peak{Value: 7, At: at, Points: 10}, 3, 100, "needs 10 at 70%; min 3"},
		{"no history", fn, Peak{}, 13, 100, "no datapoints in 14 days"},
		{"no limit", &Resource{Kind: config.LambdaSQSMaxConcurrency, Metric: Metric{Unit: "x"}}, Peak{Value: 7, Points: 1}, 3, 20, "no limit in force"},
		{"nothing", &Resource{Kind: config.LambdaSQSMaxConcurrency}, Peak{}, 2, 10, "placeholder"},
		{"service maximum", &Resource{Kind: config.DynamoDBProvisioned, Current: 30000, HasLimit: true}, Peak{Value: 25000, Points: 1}, 7500, 40000, "max 40000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := BoundsFor(c.r, c.p, 14)
			if b.Min != c.min || b.Max != c.max || !strings.Contains(b.Why, c.why) {
				t.Errorf("bounds %v..%v (%s), want %v..%v and %q", b.Min, b.Max, b.Why, c.min, c.max, c.why)
			}
		})
	}
}

// Whatever the limit and the history, the bounds are whole, within what
// the kind accepts, ordered, and keep the limit in force inside them.
func TestBoundsProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := &Resource{Kind: rapid.SampledFrom(Kinds).Draw(t, "kind")}
		r.HasLimit = rapid.Bool().Draw(t, "limited")
		if r.HasLimit {
			lo, hi := kindRange(r)
			r.Current = float64(rapid.IntRange(int(lo), int(hi)).Draw(t, "current"))
		}
		var p Peak
		if rapid.Bool().Draw(t, "history") {
			p = Peak{Value: rapid.Float64Range(0, 1e6).Draw(t, "peak"), Points: 1}
		}
		b := BoundsFor(r, p, 14)
		lo, hi := kindRange(r)
		if b.Min < lo || b.Max > hi || b.Min > b.Max || b.Min != float64(int64(b.Min)) || b.Max != float64(int64(b.Max)) {
			t.Fatalf("bounds %v..%v outside %v..%v or not whole", b.Min, b.Max, lo, hi)
		}
		if r.HasLimit && (r.Current < b.Min || r.Current > b.Max && b.Max < hi) {
			t.Fatalf("current %v outside %v..%v", r.Current, b.Min, b.Max)
		}
	})
}

// A name or id written into the file reads back as itself.
func TestQuoteRoundTrips(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.StringMatching(`[ -~]{1,30}`).Draw(t, "s")
		var got map[string]string
		if err := yaml.Unmarshal([]byte("k: "+quote(s)+"\n"), &got); err != nil || got["k"] != s {
			t.Fatalf("%q written as %s reads back as %q (%v)", s, quote(s), got["k"], err)
		}
	})
}

func FuzzQuote(f *testing.F) {
	for _, s := range []string{"orders", "true", "1e3", "a: b", "#x", "-x", "null", "ä", "0:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got map[string]string
		if err := yaml.Unmarshal([]byte("k: "+quote(s)+"\n"), &got); err == nil && got["k"] != s && !strings.ContainsAny(s, "\x00\ufffd") {
			t.Fatalf("%q reads back as %q", s, got["k"])
		}
	})
}
