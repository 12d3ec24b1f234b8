package ratelimit

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/autotuner/autotuner/internal/awsfake"
)

// TestReportStepsTheFastLoop scripts the fast loop against the wire fake:
// callers report a slow second, the bucket refills at the cut rate from
// then on, a second report in the same second changes nothing, autotuner
// changing the configured rate keeps the loop's rate, and the loop never
// refills faster than the configured rate.
func TestReportStepsTheFastLoop(t *testing.T) {
	_, api := fakeTable(t)
	ctx := context.Background()
	at := t0
	l := New(api, "buckets", Options{Clock: func() time.Time { return at }})
	if err := l.Configure(ctx, "b", Limits{Rate: 100, Burst: 100, Shards: 1}); err != nil {
		t.Fatal(err)
	}
	if r, err := l.AcquireUpTo(ctx, "b", 1, 100); err != nil || r.Granted != 100 {
		t.Fatalf("the full burst: %+v, %v", r, err)
	}
	slow := Feedback{Calls: 100, Latency: 4 * time.Second}
	if n, err := l.Report(ctx, "b", slow, DefaultAdaptive); err != nil || n != 1 {
		t.Fatalf("first report: stepped %d, %v", n, err)
	}
	if n, err := l.Report(ctx, "b", slow, DefaultAdaptive); err != nil || n != 0 {
		t.Fatalf("second report in the same second: stepped %d, %v; want 0", n, err)
	}
	// √(1 s / 4 s) = 0.5: the next second refills 50 tokens, not 100.
	at = at.Add(time.Second)
	r, err := l.AcquireUpTo(ctx, "b", 1, 100)
	if err != nil || r.Granted != 50 {
		t.Fatalf("a second after the cut: %+v, %v; want 50 granted", r, err)
	}
	// autotuner lowers the configured rate to 80: the loop's 50 stays.
	if err := l.Configure(ctx, "b", Limits{Rate: 80, Burst: 80, Shards: 1}); err != nil {
		t.Fatal(err)
	}
	s, _, err := l.st.get(ctx, ShardKey("b", 0))
	if err != nil || s.Rate != 80 || s.Fast != 50 || s.Effective() != 50 {
		t.Fatalf("after configure: %+v, %v", s, err)
	}
	// Fast seconds climb back, 0.2% of the configured rate each.
	at = at.Add(time.Second)
	if _, err := l.Report(ctx, "b", Feedback{Calls: 50, Latency: 100 * time.Millisecond}, DefaultAdaptive); err != nil {
		t.Fatal(err)
	}
	s, _, _ = l.st.get(ctx, ShardKey("b", 0))
	if s.Fast != 50.16 {
		t.Fatalf("after a fast second: %v, want 50.16", s.Fast)
	}
	// A loop above the configured rate refills at the configured rate.
	s.Fast = 500
	if s.Effective() != 80 {
		t.Fatalf("effective %v with the loop above the configured 80", s.Effective())
	}
}

// The loop's state survives the item's encoding; an item that never ran
// the loop reads as not running.
func TestFastLoopItemRoundTrip(t *testing.T) {
	for _, s := range []State{
		{Tokens: 1, Last: 2, Rate: 3, Burst: 4, Shards: 1, Version: 5},
		{Tokens: 1, Last: 2, Rate: 3, Burst: 4, Shards: 1, Version: 5, Fast: 1.5, FastAt: 1_700_000_000_000},
	} {
		got, err := decode(encode("b#0", s))
		if err != nil || got != s {
			t.Errorf("round trip of %+v: %+v, %v", s, got, err)
		}
	}
}

// POST /report steps the loop for callers not written in Go.
func TestReportHTTP(t *testing.T) {
	_, api := fakeTable(t)
	ctx := context.Background()
	at := t0
	l := New(api, "buckets", Options{Clock: func() time.Time { return at }})
	if err := l.Configure(ctx, "partner-api", Limits{Rate: 100, Burst: 100, Shards: 1}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer((&Task{L: l}).HTTP())
	defer srv.Close()
	for _, c := range []struct {
		body, want string
		code       int
	}{
		{`{"bucket":"partner-api","calls":100,"latency_ms":4000}`, `{"stepped":1}`, 200},
		{`{"bucket":"partner-api","calls":100,"latency_ms":4000}`, `{"stepped":0}`, 200}, // the same second
		{`{"bucket":"nobody","calls":1}`, "", 404},
		{`{"bucket":"partner-api","calls":-1}`, "", 400},
		{`{"bucket":"partner-api","latency":5}`, "", 400},
		{`[`, "", 400},
	} {
		res, err := http.Post(srv.URL+"/report", "application/json", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.code || (c.want != "" && strings.TrimSpace(string(b)) != c.want) {
			t.Errorf("%s: %d %s, want %d %s", c.body, res.StatusCode, b, c.code, c.want)
		}
	}
	if s, _, _ := l.st.get(ctx, ShardKey("partner-api", 0)); s.Fast != 50 {
		t.Errorf("after a 4 s second the loop's rate is %v, want 50", s.Fast)
	}
}

// FuzzReportRequest: only a report with every number in range reaches
// the loop.
func FuzzReportRequest(f *testing.F) {
	for _, s := range []string{`{"bucket":"b","calls":10,"throttled":1,"latency_ms":300}`, `{"bucket":"b","calls":-1}`, `{"bucket":"b","latency_ms":1e309}`, `{}`, `[`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var req ReportRequest
		if json.Unmarshal([]byte(body), &req) != nil {
			return
		}
		if req.Validate() != nil {
			return
		}
		fb := req.Feedback()
		if req.Bucket == "" || fb.Calls < 0 || fb.Throttled < 0 || fb.Latency < 0 || req.LatencyMs > maxReportLatency {
			t.Fatalf("accepted %+v", req)
		}
	})
}

// FuzzDecodeFast: the fast loop's attributes are outside input too.
func FuzzDecodeFast(f *testing.F) {
	f.Add("5", "1796400000000")
	f.Add("-1", "0")
	f.Add("NaN", "x")
	f.Fuzz(func(t *testing.T, fast, at string) {
		it := awsfake.Item{"pk": {"S": "b#0"}, "tokens": {"N": "1"}, "last_ms": {"N": "1"}, "rate": {"N": "10"}, "burst": {"N": "10"}, "shards": {"N": "1"}, "v": {"N": "1"},
			"fast": {"N": fast}, "fast_ms": {"N": at}}
		s, err := decode(toAttrs(it))
		if err != nil {
			return
		}
		if e := s.Effective(); e < 0 || e > s.Rate || math.IsNaN(e) {
			t.Fatalf("effective rate %v from %v", e, it)
		}
	})
}

// A loop no report has stepped for FastExpiry no longer binds: the bucket
// refills at the configured rate again, and the next report starts the
// loop from that rate. Resharding keeps the bucket's whole fast rate.
func TestFastLoopExpiresAndSurvivesResharding(t *testing.T) {
	_, api := fakeTable(t)
	ctx := context.Background()
	at := t0
	l := New(api, "buckets", Options{Clock: func() time.Time { return at }})
	if err := l.Configure(ctx, "b", Limits{Rate: 100, Burst: 100, Shards: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Report(ctx, "b", Feedback{Calls: 100, Latency: 4 * time.Second}, DefaultAdaptive); err != nil {
		t.Fatal(err)
	}
	// Resharding to 2 halves each shard's loop rate: the bucket's stays 50.
	if err := l.Configure(ctx, "b", Limits{Rate: 100, Burst: 100, Shards: 2}); err != nil {
		t.Fatal(err)
	}
	s, _, err := l.st.get(ctx, ShardKey("b", 0))
	if err != nil || s.Shards != 2 || s.Rate != 50 || s.Fast != 25 || s.Effective() != 25 {
		t.Fatalf("after resharding: %+v, %v; want fast 25 of rate 50", s, err)
	}
	// Reports stop. Within FastExpiry the cut binds; past it, it does not.
	at = at.Add(FastExpiry)
	if s = s.Refill(at); s.Effective() != 25 {
		t.Fatalf("at FastExpiry: effective %v, want 25", s.Effective())
	}
	at = at.Add(time.Second)
	if s = s.Refill(at); s.Effective() != 50 {
		t.Fatalf("past FastExpiry: effective %v, want the configured 50", s.Effective())
	}
	// The next report starts the loop again from the configured rate.
	if _, err := l.Report(ctx, "b", Feedback{Calls: 50, Latency: 100 * time.Millisecond}, DefaultAdaptive); err != nil {
		t.Fatal(err)
	}
	if s, _, _ = l.st.get(ctx, ShardKey("b", 0)); s.Effective() != 50 {
		t.Fatalf("after a fresh report: %+v, want the loop restarted at 50", s)
	}
}
