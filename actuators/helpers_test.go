package actuators

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsclient"
	"github.com/autotuner/autotuner/internal/awsfake"
)

var (
	ctx = context.Background()
	t0  = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
)

// connect starts a fake and returns clients pointed at it through the
// SDK's endpoint override, with fast retries and no client pacing.
func connect(t *testing.T, o awsclient.Options) (*awsfake.Server, Conn) {
	t.Helper()
	fake := awsfake.Start(t)
	if o.Rates == nil {
		o.NoRateLimits = true
	}
	o.MaxBackoff = time.Millisecond
	f, err := awsclient.New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	return fake, f.For
}

func wantClass(t *testing.T, err error, want controller.Class) {
	t.Helper()
	if got := controller.Classify(err); err == nil || got != want {
		t.Fatalf("error %v has class %q, want %q", err, got, want)
	}
}

// body decodes a recorded JSON request body.
func body(t *testing.T, c awsfake.Call) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(c.Body, &m); err != nil {
		t.Fatalf("body %q: %v", c.Body, err)
	}
	return m
}

func diff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
