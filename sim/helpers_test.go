package sim

import (
	"context"
	"testing"

	"github.com/autotuner/autotuner/controller"
)

// setup parses a scenario and a policies file held in the test.
func setup(t testing.TB, scenario, policies string) *Setup {
	t.Helper()
	sc, err := ParseScenario("test-scenario", []byte(scenario))
	if err != nil {
		t.Fatalf("scenario: %v", err)
	}
	if sc.Name == "" {
		sc.Name = "test"
	}
	pname, pdata := "test-policies", []byte(policies)
	if policies == "" {
		var err error
		if pname, pdata, err = PoliciesFor(sc); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Prepare(sc, pname, pdata, "testdata")
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	return s
}

// run runs one policy and collects its audit records.
func run(t testing.TB, s *Setup, policy string) (*Result, []*controller.Record) {
	t.Helper()
	var recs []*controller.Record
	res, err := s.Run(context.Background(), policy, RunOptions{OnRecord: func(r *controller.Record) { recs = append(recs, r) }})
	if err != nil {
		t.Fatalf("run %s: %v", policy, err)
	}
	return res, recs
}
