package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/autotuner/autotuner/controller"
)

// The controller's fast audit encoder writes every record of real runs
// (decisions with their guard steps, reasons and forecasts, as the
// policies make them) exactly as encoding/json does.
func TestAuditLinesMatchEncodingJSON(t *testing.T) {
	for _, name := range []string{"brownout", "flash-crowd", "hourly-cron"} {
		sc, err := LoadScenario(name)
		if err != nil {
			t.Fatal(err)
		}
		pn, pd, _ := PoliciesFor(sc)
		s, err := Prepare(sc, pn, pd, realTraces)
		if err != nil {
			t.Logf("%s skipped: %v", name, err) // its trace is not here
			continue
		}
		for _, pol := range []string{PolicyAutotuner, "target-tracking"} {
			n, steps := 0, 0
			_, err := s.Run(context.Background(), pol, RunOptions{OnRecord: func(r *controller.Record) {
				want, err := json.Marshal(r)
				if err != nil {
					t.Fatal(err)
				}
				got, err := r.AppendJSON(nil)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("%s/%s: %v\ngot  %s\nwant %s", name, pol, err, got, want)
				}
				n++
				if r.Decision != nil && len(r.Decision.Steps()) > 0 {
					steps++
				}
			}})
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 || (pol == PolicyAutotuner && steps == 0) {
				t.Errorf("%s/%s: %d records, %d with guard steps: the test saw too little", name, pol, n, steps)
			}
		}
	}
}
