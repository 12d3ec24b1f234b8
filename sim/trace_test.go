package sim

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const longCSV = `timestamp,requests,segment
1995-07-01 00:00,60,jul
1995-07-01 00:01,120,jul
1995-08-01 00:00,999,aug
1995-07-01 00:02,0,jul
`

const wideCSV = `HashFunction,HashApp,HashOwner,minute_1,minute_2,minute_3
aaaa1111,x,y,1,2,3
bbbb2222,x,y,600,0,60
`

func TestParseTraceCSV(t *testing.T) {
	for _, tc := range []struct {
		name, csv string
		spec      TraceSpec
		want      []float64
		err       string
	}{
		{name: "long", csv: longCSV, spec: TraceSpec{Column: "requests"}, want: []float64{60, 120, 999, 0}},
		{name: "filtered", csv: longCSV, spec: TraceSpec{Column: "requests", Filter: map[string]string{"segment": "jul"}}, want: []float64{60, 120, 0}},
		{name: "wide row", csv: wideCSV, spec: TraceSpec{Row: "bbbb", Columns: "minute_"}, want: []float64{600, 0, 60}},
		{name: "no column", csv: longCSV, spec: TraceSpec{Column: "nope"}, err: `no column "nope"`},
		{name: "no row", csv: wideCSV, spec: TraceSpec{Row: "cccc", Columns: "minute_"}, err: "no row"},
		{name: "negative", csv: "a\n-1\n", spec: TraceSpec{Column: "a"}, err: "line 2"},
		{name: "not a number", csv: "a\nx\n", spec: TraceSpec{Column: "a"}, err: "not a number"},
		{name: "empty", csv: "", spec: TraceSpec{Column: "a"}, err: "empty"},
		{name: "nothing selected", csv: longCSV, spec: TraceSpec{Column: "requests", Filter: map[string]string{"segment": "sep"}}, err: "no samples"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTraceCSV(strings.NewReader(tc.csv), &tc.spec)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Error(diff)
			}
		})
	}
}

// Replay: counts per step become a rate, compressed in time and looped.
func TestTraceReplay(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "t.csv"), []byte(longCSV), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := &TraceSpec{File: "t.csv", Column: "requests", Filter: map[string]string{"segment": "jul"}, Step: Duration(time.Minute), Scale: 2, Compress: 6, Loop: true}
	tr, err := LoadTrace(dir, spec)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]float64{2, 4, 0}, tr.Rates); diff != "" {
		t.Fatalf("rates (count / 60 s × scale 2): %s", diff)
	}
	c := &curve{trace: tr, tr: spec}
	// Compressed 6×, each 1-minute sample plays for 10 s; the 3 samples
	// loop every 30 s.
	for sec, want := range map[int64]float64{0: 2, 9: 2, 10: 4, 19: 4, 20: 0, 29: 0, 30: 2, 45: 4} {
		if got := c.rate(sec); got != want {
			t.Errorf("rate at %ds = %v, want %v", sec, got, want)
		}
	}
	if got := c.traceDuration(); got != 60 {
		t.Errorf("trace plays for %ds, want the 60 s floor (3 min / 6 = 30 s)", got)
	}
	spec.Loop = false
	if got := c.rate(35); got != 0 {
		t.Errorf("after the end without loop: %v, want 0", got)
	}
}

func TestMissingTracesSayWhere(t *testing.T) {
	sc, err := LoadScenario("nasa-diurnal")
	if err != nil {
		t.Fatal(err)
	}
	pn, pd, _ := PoliciesFor(sc)
	_, err = Prepare(sc, pn, pd, t.TempDir())
	if !errors.Is(err, ErrNoTraces) || !strings.Contains(err.Error(), "--traces") {
		t.Fatalf("error %v, want ErrNoTraces naming --traces", err)
	}
}

func TestDurationsCSV(t *testing.T) {
	const csv = `HashFunction,HashApp,HashOwner,Count,Average,Minimum,Maximum,percentile_Average_0,percentile_Average_1,percentile_Average_25,percentile_Average_50,percentile_Average_75,percentile_Average_99,percentile_Average_100
abc,abc,abc,10,300,100,1000,100,110,200,250,400,900,1000
`
	d, err := ParseDurationsCSV(strings.NewReader(csv), "ab")
	if err != nil {
		t.Fatal(err)
	}
	if d.Average != 300 || d.quantile(0.5) != 250 || d.quantile(0.375) != 225 || d.quantile(1) != 1000 {
		t.Errorf("parsed %+v, median %v, q37.5 %v", d, d.quantile(0.5), d.quantile(0.375))
	}
	cl := durationClasses(&DurationDist{Trace: &DurationTrace{}}, d)
	for i := 1; i < nClasses; i++ {
		if cl[i] < cl[i-1] {
			t.Fatalf("classes not ascending: %v", cl)
		}
	}
	if cl[0] < 0.1 || cl[nClasses-1] > 1.0 {
		t.Errorf("classes %v outside the function's 0.1–1 s", cl)
	}
}

// tracesDir is where the repository's real traces live.
const realTraces = "../../shared/traces"

// The trace scenarios replay the real traces when they are present.
func TestTraceScenarios(t *testing.T) {
	if _, err := os.Stat(realTraces); err != nil {
		t.Skip("no ../shared/traces here")
	}
	for _, name := range []string{"azure-bursty", "nasa-diurnal"} {
		sc, err := LoadScenario(name)
		if err != nil {
			t.Fatal(err)
		}
		pn, pd, _ := PoliciesFor(sc)
		s, err := Prepare(sc, pn, pd, realTraces)
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Compare(context.Background(), []string{PolicyAutotuner, PolicyOracle}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.KPIs.Offered == 0 || r.KPIs.QuotaViolations != 0 {
				t.Errorf("%s/%s: %+v", name, r.Policy, r.KPIs)
			}
		}
		if name == "nasa-diurnal" {
			// July 1–28 holds 39,693 minutes of data; 24× faster.
			if want := int64(39693 * 60 / 24); len(s.trace.Rates) != 39693 || math.Abs(float64(s.DurationS-want)) > 60 {
				t.Errorf("nasa-diurnal lasts %ds from %d samples, want %ds", s.DurationS, len(s.trace.Rates), want)
			}
			// July's mean is 47.7 requests a minute; ×60 it is 47.7/s.
			if got := float64(res[0].KPIs.Offered) / float64(s.DurationS); math.Abs(got-47.7) > 1 {
				t.Errorf("mean offered %.1f/s, want about 47.7", got)
			}
		}
	}
}
