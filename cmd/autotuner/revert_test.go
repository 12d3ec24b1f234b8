package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/autotuner/autotuner/daemon/daemontest"
	"github.com/autotuner/autotuner/policy"
	"github.com/autotuner/autotuner/state"
)

const revertPolicies = `version: 1
defaults: {region: us-east-1}
targets:
  - name: consumer
    kind: lambda-reserved-concurrency
    function: consumer
    min: 5
    max: 400
    signals:
      busy: {namespace: AWS/Lambda, metric: ConcurrentExecutions, stat: Maximum}
    policy:
      autotuner:
        utilization: {signal: busy, target: 70%}
  - name: table
    kind: dynamodb-provisioned
    table: orders
    capacity: write
    min: 5
    max: 4000
    signals:
      consumed: {namespace: AWS/DynamoDB, metric: ConsumedWriteCapacityUnits, stat: Sum, per_second: true}
    policy:
      autotuner:
        utilization: {signal: consumed, target: 70%}
  - name: untouched
    kind: lambda-reserved-concurrency
    function: untouched
    min: 5
    max: 400
    signals:
      busy: {namespace: AWS/Lambda, metric: ConcurrentExecutions, stat: Maximum}
    policy: {static: {}}
`

func TestRevert(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "p.yaml")
	statePath := filepath.Join(dir, "s.json")
	os.WriteFile(cfg, []byte(revertPolicies), 0o644)
	now := time.Date(2026, 11, 25, 15, 30, 0, 0, time.UTC)
	clock := daemontest.NewClock(now)
	prev := daemonClock
	daemonClock = clock
	t.Cleanup(func() { daemonClock = prev })

	// autotuner raised the function from 10 to 40 and the table's writes
	// from 100 to 400; the table's free decreases are spent, the last one
	// ten minutes ago.
	act := &daemontest.Actuator{Values: map[string]float64{"consumer": 40, "table": 400, "untouched": 7}}
	act.Quotas = map[string]policy.DecreaseQuota{"table": {Enforced: true, Today: 4, Last: now.Add(-10 * time.Minute)}}
	fakeBackend(t, &daemontest.Sensor{}, act)
	st, err := state.OpenFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	orig := func(v float64) policy.Memory {
		m := policy.NewMemory()
		m.Actuation = policy.Actuation{Original: v, HaveOriginal: true, OriginalAt: now.Add(-24 * time.Hour), LastSet: 99, HaveLastSet: true}
		return m
	}
	st.Save(context.Background(), "consumer", orig(10))
	st.Save(context.Background(), "table", orig(100))
	if err := st.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	st.Close()

	revert := func(args ...string) (int, string) {
		var out bytes.Buffer
		e := &env{stdout: &out, stderr: &out, getenv: func(string) string { return "" }, logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		code := run(context.Background(), e, append([]string{"revert", "-c", cfg, "--state", statePath}, args...))
		return code, out.String()
	}

	code, out := revert("--dry-run")
	for _, want := range []string{
		"consumer (function consumer): would set 40 → 10",
		"table (table orders write): going back from 400 to 100 is a DynamoDB decrease",
		"revert it at or after 2026-11-25T16:20:00Z",
		"untouched (function untouched): autotuner never read or changed it",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if code != exitFailure || len(act.Changes()) != 0 {
		t.Errorf("dry run: exit %d, changes %v", code, act.Changes())
	}

	code, out = revert()
	if code != exitFailure || !strings.Contains(out, "consumer (function consumer): reverted 40 → 10") || !strings.Contains(out, "1 target(s) must wait") {
		t.Errorf("revert: exit %d:\n%s", code, out)
	}
	if act.Value("consumer") != 10 || act.Value("table") != 400 {
		t.Errorf("values after revert: consumer %v (want 10), table %v (want 400, waiting)", act.Value("consumer"), act.Value("table"))
	}
	snap, _ := state.ReadSnapshot(statePath)
	if m := snap["consumer"].Actuation; m.LastSet != 10 || !m.LastSetAt.Equal(now) {
		t.Errorf("state after revert: %+v", m)
	}

	// An hour after the last decrease the quota allows one more.
	clock.Advance(time.Hour)
	code, out = revert()
	if code != exitOK || act.Value("table") != 100 || !strings.Contains(out, "consumer (function consumer): already at its original value 10") {
		t.Errorf("second revert: exit %d, table %v:\n%s", code, act.Value("table"), out)
	}
}

// A function that had no reservation before autotuner is not "reverted"
// to the number it reported then (the account's unreserved pool): that
// would reserve nearly everything and starve every other function.
func TestRevertRefusesToReserveAnUnsetOriginal(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "p.yaml")
	statePath := filepath.Join(dir, "s.json")
	os.WriteFile(cfg, []byte(revertPolicies), 0o644)
	act := &daemontest.Actuator{Values: map[string]float64{"consumer": 40, "table": 400, "untouched": 7}}
	fakeBackend(t, &daemontest.Sensor{}, act)
	st, err := state.OpenFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	m := policy.NewMemory()
	m.Actuation = policy.Actuation{Original: 900, HaveOriginal: true, OriginalUnset: true, LastSet: 40, HaveLastSet: true}
	st.Save(context.Background(), "consumer", m)
	st.Commit(context.Background())
	st.Close()

	var out bytes.Buffer
	e := &env{stdout: &out, stderr: &out, getenv: func(string) string { return "" }, logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	code := run(context.Background(), e, []string{"revert", "-c", cfg, "--state", statePath})
	if code != exitFailure || !strings.Contains(out.String(), "had no setting before autotuner") || !strings.Contains(out.String(), "delete-function-concurrency --function-name consumer") {
		t.Errorf("exit %d:\n%s", code, out.String())
	}
	if len(act.Changes()) != 0 {
		t.Errorf("changes %v, want none", act.Changes())
	}
}

// With --lease, revert refuses while a replica holds the lease, since that
// autotuner would undo the revert on its next tick; --force overrides, and
// an expired lease is no obstacle.
func TestRevertRespectsTheLease(t *testing.T) {
	c := stateTable(t, "state")
	useStateTable(t, c)
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 15, 30, 0, 0, time.UTC)
	clock := daemontest.NewClock(now)
	prevClock := daemonClock
	daemonClock = clock
	t.Cleanup(func() { daemonClock = prevClock })

	dir := t.TempDir()
	cfg := filepath.Join(dir, "p.yaml")
	os.WriteFile(cfg, []byte(revertPolicies), 0o644)
	act := &daemontest.Actuator{Values: map[string]float64{"consumer": 40, "table": 100, "untouched": 7}}
	fakeBackend(t, &daemontest.Sensor{}, act)
	st := state.NewDynamoDB(c, "state")
	m := policy.NewMemory()
	m.Actuation = policy.Actuation{Original: 10, HaveOriginal: true, OriginalAt: now.Add(-time.Hour), LastSet: 40, HaveLastSet: true}
	if _, err := st.Load(ctx, "consumer"); err != nil {
		t.Fatal(err)
	}
	if err := st.Save(ctx, "consumer", m); err != nil {
		t.Fatal(err)
	}
	daemon := &state.Lease{Client: c, Table: "state", Name: "autotuner", Owner: "daemon-1", TTL: 3 * time.Minute, Now: clock.Now}
	if ok, err := daemon.Campaign(ctx); !ok || err != nil {
		t.Fatalf("campaign: %v %v", ok, err)
	}

	revert := func(args ...string) (int, string) {
		var out bytes.Buffer
		e := &env{stdout: &out, stderr: &out, getenv: func(string) string { return "" }, logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		code := run(ctx, e, append([]string{"revert", "-c", cfg, "--state-table", "state", "--targets", "consumer"}, args...))
		return code, out.String()
	}
	code, out := revert("--lease", "autotuner")
	if code != exitFailure || !strings.Contains(out, `lease "autotuner" is held by daemon-1 until 2026-11-25T15:33:00Z`) || act.Value("consumer") != 40 {
		t.Fatalf("held lease: exit %d, consumer %v:\n%s", code, act.Value("consumer"), out)
	}
	// A dry run only warns; a name with no lease is refused, as a typo
	// would otherwise pass for a stopped daemon.
	code, out = revert("--lease", "autotuner", "--dry-run")
	if code != exitOK || !strings.Contains(out, "warning: lease \"autotuner\" is held by daemon-1") || !strings.Contains(out, "would set 40 → 10") || act.Value("consumer") != 40 {
		t.Fatalf("dry run with a held lease: exit %d:\n%s", code, out)
	}
	code, out = revert("--lease", "autotunr")
	if code != exitFailure || !strings.Contains(out, `there is no lease "autotunr" in table state`) {
		t.Fatalf("unknown lease: exit %d:\n%s", code, out)
	}
	if code, out := revert("--force"); code != exitUsage || !strings.Contains(out, "--force goes with --lease") {
		t.Errorf("--force alone: exit %d:\n%s", code, out)
	}
	code, out = revert("--lease", "autotuner", "--force")
	if code != exitOK || act.Value("consumer") != 10 || !strings.Contains(out, "reverting anyway (--force)") {
		t.Fatalf("--force: exit %d, consumer %v:\n%s", code, act.Value("consumer"), out)
	}
	clock.Advance(4 * time.Minute) // the daemon stopped renewing
	code, out = revert("--lease", "autotuner")
	if code != exitOK || !strings.Contains(out, "already at its original value 10") || strings.Contains(out, "held by") {
		t.Fatalf("expired lease: exit %d:\n%s", code, out)
	}
	if code, out := revert("--lease", "x", "--state-table", "", "--state", filepath.Join(dir, "s.json")); code != exitUsage || !strings.Contains(out, "--lease needs --state-table") {
		t.Errorf("--lease without a table: exit %d:\n%s", code, out)
	}
}
