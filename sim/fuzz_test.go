package sim

import (
	"bytes"
	"math"
	"testing"
)

func FuzzParseScenario(f *testing.F) {
	for _, name := range BuiltinScenarios() {
		b, _ := builtins.ReadFile("scenarios/" + name + ".yaml")
		f.Add(b)
	}
	f.Add([]byte("duration: 1h\ntraffic: {rate: 1}\ntopology: {api: {rate: 1}}\n"))
	f.Add([]byte("duration: -1h\n"))
	f.Add([]byte("duration: 1h\ntraffic: {rate: 50}\ntopology: {kind: sqs-lambda-dynamodb-downstream, queue: {batch_size: 10, max_receive_count: 2, visibility_timeout: 5s}, lambda: {unreserved: true, other_usage: 100, cold_start: 2s}, table: {burst_seconds: 0, hot_key_share: 0.5, on_demand: true}}\ncloudwatch: {drop: 0.5, late: {share: 1, by: 5m}}\n"))
	f.Add([]byte("duration: 1h\ntraffic: {rate: 50}\ntopology: {api: {rate: 10, usage_plan: p, keys: [{name: a, share: 0.2}], client_error_rate: 0.5}, lambda: {async: {max_event_age: 1m}}}\nclients: {retries: 10, backoff: 1s, max_backoff: 15m, jitter: equal}\n"))
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := ParseScenario("fuzz", data)
		if err != nil {
			return
		}
		// A scenario that passes validation must be safe to build.
		if sc.Duration.D() < 0 || math.IsNaN(sc.Traffic.Rate) || sc.Topology.Lambda.AccountConcurrency < 10 {
			t.Fatalf("validated scenario out of range: %+v", sc)
		}
		if sc.Traffic.Trace == nil && sc.Topology.Lambda.Duration.Trace == nil && sc.Duration.D() <= 3600e9 {
			c := newCurve(sc, nil)
			for s := int64(0); s < 120; s++ {
				if r := c.rate(s); math.IsNaN(r) || math.IsInf(r, 0) || r < 0 {
					t.Fatalf("rate %v at %ds", r, s)
				}
			}
			// And to simulate: every knob's model runs.
			p := newPlant(sc, c, nil, 4096)
			p.tl = newTimeline(2)
			for s := int64(0); s < 120; s++ {
				p.step(s)
			}
			if k := p.k; math.IsNaN(k.served) || k.served > k.offered+1e-6*k.offered+1 && p.q == nil && p.clients == nil && p.async == nil {
				t.Fatalf("served %v of %v offered", k.served, k.offered)
			}
		}
	})
}

func FuzzParseTraceCSV(f *testing.F) {
	f.Add([]byte(longCSV), "requests", "", "")
	f.Add([]byte(wideCSV), "", "bbbb", "minute_")
	f.Add([]byte("a,b\n1\n2,3,4\n"), "b", "", "")
	f.Add([]byte("\"a\nb\",c\n"), "c", "", "")
	f.Fuzz(func(t *testing.T, data []byte, column, row, columns string) {
		spec := &TraceSpec{Column: column, Row: row, Columns: columns}
		out, err := ParseTraceCSV(bytes.NewReader(data), spec)
		if err != nil {
			return
		}
		if len(out) == 0 {
			t.Fatal("no samples and no error")
		}
		for _, v := range out {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				t.Fatalf("sample %v", v)
			}
		}
	})
}

func FuzzParseDurationsCSV(f *testing.F) {
	f.Add([]byte("HashFunction,Average,percentile_Average_0,percentile_Average_100\nabc,5,1,9\n"), "a")
	f.Add([]byte("HashFunction,Average,percentile_Average_50\nabc,5,1\n"), "a")
	f.Fuzz(func(t *testing.T, data []byte, row string) {
		d, err := ParseDurationsCSV(bytes.NewReader(data), row)
		if err != nil {
			return
		}
		prev := -1.0
		for _, p := range d.Points {
			if p[1] < prev || math.IsNaN(p[1]) {
				t.Fatalf("percentiles fall or are NaN: %v", d.Points)
			}
			prev = p[1]
		}
		for q := 0.0; q <= 1; q += 0.125 {
			if v := d.quantile(q); math.IsNaN(v) || v < 0 {
				t.Fatalf("quantile(%v) = %v", q, v)
			}
		}
	})
}
