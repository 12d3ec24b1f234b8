package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/autotuner/autotuner/internal/awsfake"
	"github.com/autotuner/autotuner/sim"
)

const recordPolicies = `
version: 1
defaults: {interval: 1m, metric_delay: 2m, region: us-east-1}
targets:
  - name: fn
    kind: lambda-reserved-concurrency
    function: orders
    min: 1
    max: 100
    signals:
      invocations: {namespace: AWS/Lambda, metric: Invocations, dimensions: {FunctionName: orders}, stat: Sum, missing: zero}
      busy:        {namespace: AWS/Lambda, metric: ConcurrentExecutions, dimensions: {FunctionName: orders}, stat: Maximum}
    policy:
      autotuner:
        utilization: {signal: busy, target: 70%}
`

// record exports a day of history through the real CloudWatch client
// (CBOR on the wire, paged), and simulate replays it.
func TestRecordExportsReplayableTrace(t *testing.T) {
	fake := awsfake.Start(t)
	fake.CloudWatch.PageSize = 1 // one result per page: NextToken must be followed
	fake.CloudWatch.Value = func(q awsfake.MetricDataQuery, ts time.Time) (float64, bool) {
		if ts.Minute()%7 == 0 {
			return 0, false // a sparse metric's empty minute
		}
		v := float64(ts.Minute())
		if q.MetricStat.Metric.MetricName == "ConcurrentExecutions" {
			v /= 10
		}
		return v, true
	}
	now := time.Date(2026, 7, 6, 12, 0, 30, 0, time.UTC)
	old := recordNow
	recordNow = func() time.Time { return now }
	t.Cleanup(func() { recordNow = old })

	dir := t.TempDir()
	pol := filepath.Join(dir, "policies.yaml")
	if err := os.WriteFile(pol, []byte(recordPolicies), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "trace.csv")
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr, getenv: os.Getenv, logger: simLogger()}
	if code := run(context.Background(), e, []string{"record", "-c", pol, "--days", "1", "--out", out}); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := rows[0]; len(got) != 3 || got[0] != "timestamp" || got[1] != "fn.invocations" || got[2] != "fn.busy" {
		t.Fatalf("header %v", got)
	}
	if len(rows) != 1+1440 {
		t.Fatalf("%d rows, want a header and 1440 minutes", len(rows))
	}
	// The window ends at now − metric_delay, aligned: 11:58.
	if rows[1][0] != "2026-07-05 11:58" || rows[1440][0] != "2026-07-06 11:57" {
		t.Errorf("first %s, last %s", rows[1][0], rows[1440][0])
	}
	for _, r := range rows[1:] {
		ts, _ := time.Parse("2006-01-02 15:04", r[0])
		want := ""
		if ts.Minute()%7 != 0 {
			want = strconv.Itoa(ts.Minute())
		}
		if r[1] != want {
			t.Fatalf("%s: invocations %q, want %q", r[0], r[1], want)
		}
	}
	paged := false
	for _, r := range fake.CloudWatch.Requests() {
		paged = paged || r.NextToken != ""
		if len(r.MetricDataQueries) != 2 {
			t.Errorf("a call with %d queries, want both signals in one batch", len(r.MetricDataQueries))
		}
	}
	if !paged {
		t.Error("NextToken was not followed")
	}

	// The file replays as a trace.
	tf, _ := os.Open(out)
	defer tf.Close()
	counts, err := sim.ParseTraceCSV(tf, &sim.TraceSpec{Column: "fn.invocations"})
	if err != nil || len(counts) != 1440 {
		t.Fatalf("replaying: %d samples, %v", len(counts), err)
	}
}

func TestRecordUsage(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "policies.yaml")
	os.WriteFile(pol, []byte(recordPolicies), 0o644)
	for _, args := range [][]string{{"--days", "0"}, {"--period", "90s"}, {"--targets", "nope"}} {
		var stderr bytes.Buffer
		e := &env{stdout: &bytes.Buffer{}, stderr: &stderr, getenv: func(string) string { return "" }, logger: simLogger()}
		if code := run(context.Background(), e, append([]string{"record", "-c", pol}, args...)); code != exitUsage {
			t.Errorf("%v: exit %d (%s), want %d", args, code, stderr.String(), exitUsage)
		}
	}
}
