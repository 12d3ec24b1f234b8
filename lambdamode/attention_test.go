package lambdamode_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/autotuner/autotuner/lambdamode"
)

// summaries returns the EMF lines without dimensions: the invocation
// summaries and the stale-policies lines.
func summaries(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(b)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		if _, ok := m["Target"]; !ok {
			out = append(out, m)
		}
	}
	return out
}

// NeedsAttention counts what a person must fix (a missing permission
// here), not what the next tick retries (throttling).
func TestEMFNeedsAttention(t *testing.T) {
	r := newRig(t)
	r.sensor.SetFail("orders-consumer", "permission")
	r.sensor.SetFail("reports", "throttled")
	resp := r.invoke(t, fixture(t, "scheduled.json"))
	if resp.Errors != 2 {
		t.Fatalf("errors %d, want both targets failing: %+v", resp.Errors, resp)
	}
	s := summaries(t, r.emf)
	if len(s) != 1 || s[0]["NeedsAttention"] != 1.0 || s[0]["Errors"] != 2.0 {
		t.Fatalf("summary lines %v, want one with NeedsAttention 1 of Errors 2", s)
	}
	r.sensor.SetFail("orders-consumer", "")
	r.sensor.SetFail("reports", "")
	r.clock.Advance(time.Minute)
	r.invoke(t, fixture(t, "scheduled.json"))
	if s := summaries(t, r.emf); len(s) != 1 || s[0]["NeedsAttention"] != 0.0 {
		t.Errorf("after recovery: %v", s)
	}
}

// A policies file in SSM that turned invalid keeps the last good one in
// force, and pages: NeedsAttention and PoliciesStale.
func TestEMFPoliciesStale(t *testing.T) {
	r := newRig(t)
	f := &fakeSSM{value: string(fixture(t, "policies.yaml"))}
	r.h.Policies = &lambdamode.Policies{Loc: lambdamode.Location{Kind: "ssm", Key: "/p"}, SSM: f, Now: r.clock.Now}
	r.invoke(t, fixture(t, "scheduled.json"))
	r.emf.Reset()
	f.value = "version: 7\n"
	r.clock.Advance(2 * time.Minute)
	if resp, err := r.h.Invoke(context.Background(), fixture(t, "scheduled.json")); err != nil || resp.Evaluated != 2 {
		t.Fatalf("with the last good file: %+v %v", resp, err)
	}
	var stale, attention float64
	for _, m := range summaries(t, r.emf) {
		if v, ok := m["PoliciesStale"].(float64); ok {
			stale += v
		}
		attention += m["NeedsAttention"].(float64)
	}
	if stale != 1 || attention != 1 {
		t.Errorf("PoliciesStale %v, NeedsAttention %v; want 1 and 1", stale, attention)
	}
}
