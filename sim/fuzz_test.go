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
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := ParseScenario("fuzz", data)
		if err != nil {
			return
		}
		// A scenario that passes validation must be safe to build.
		if sc.Duration.D() < 0 || math.IsNaN(sc.Traffic.Rate) || sc.Topology.Lambda.AccountConcurrency < 100 {
			t.Fatalf("validated scenario out of range: %+v", sc)
		}
		if sc.Traffic.Trace == nil && sc.Topology.Lambda.Duration.Trace == nil && sc.Duration.D() <= 3600e9 {
			c := newCurve(sc, nil)
			for s := int64(0); s < 120; s++ {
				if r := c.rate(s); math.IsNaN(r) || math.IsInf(r, 0) || r < 0 {
					t.Fatalf("rate %v at %ds", r, s)
				}
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
