package lambdamode_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/lambdamode"
)

type countingSelector struct{ calls int }

func (c *countingSelector) Select(context.Context, config.Selection) ([]config.Selected, error) {
	c.calls++
	return []config.Selected{{Name: "orders", Keys: [][2]string{{"function", "orders"}}}}, nil
}

// A file with selector entries is evaluated again every discover_every,
// even from the deployment package: resources come and go.
func TestSelectorsAreEvaluatedAgain(t *testing.T) {
	p := filepath.Join(t.TempDir(), "policies.yaml")
	src := "version: 1\ndefaults: {discover_every: 10m}\ntargets:\n  - {name: fns, kind: lambda-reserved-concurrency, select: {name: \"*\"}, min: 1, max: 10}\n"
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	now := t0
	sel := &countingSelector{}
	pol := &lambdamode.Policies{Loc: lambdamode.Location{Kind: "file", Path: p}, Selector: sel, Now: func() time.Time { return now }}
	for _, s := range []struct {
		at    time.Duration
		calls int
	}{{0, 1}, {5 * time.Minute, 1}, {11 * time.Minute, 2}} {
		now = t0.Add(s.at)
		f, _, err := pol.Get(context.Background())
		if err != nil || f.Target("fns/orders") == nil || sel.calls != s.calls {
			t.Fatalf("t+%v: %v, targets %v, %d selections; want %d", s.at, err, f, sel.calls, s.calls)
		}
	}
}
