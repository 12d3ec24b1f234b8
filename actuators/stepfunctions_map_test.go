package actuators

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/google/go-cmp/cmp"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsclient"
	"github.com/autotuner/autotuner/internal/awsfake"
	"github.com/autotuner/autotuner/internal/testenv"
	"github.com/autotuner/autotuner/policy"
)

const machineARN = "arn:aws:states:us-east-1:123456789012:stateMachine:orders"

func mapTarget(mode config.MapMode, path ...string) *config.Target {
	return &config.Target{Name: "fanout", Kind: config.StepFunctionsMap, Min: 1, Max: 40,
		StepFunctions: config.StepFunctions{StateMachine: machineARN, MapState: path, Mode: mode}}
}

// sfnFake starts a fake whose UpdateStateMachine checks every definition
// with asl-validator, as Step Functions would refuse a broken one.
func sfnFake(t *testing.T, def string) (*awsfake.Server, *StepFunctionsMap) {
	t.Helper()
	fake, conn := connect(t, awsclient.Options{})
	check := testenv.ASLValidator(t)
	fake.SFN.Validate = func(def string) error { return check(def) }
	fake.SFN.AddStateMachine(machineARN, def)
	return fake, NewStepFunctionsMap(conn, NewParameter(conn))
}

// TestStepFunctionsMapDefinitionMode scripts a definition-mode target
// through a change, drift and a revert against the wire fake.
func TestStepFunctionsMapDefinitionMode(t *testing.T) {
	src := readFile(t, filepath.Join("testdata", "asl", "nested-jsonpath.asl.json"))
	fake, a := sfnFake(t, src)
	tg := mapTarget(config.MapModeDefinition, "Process", "Fan out")

	st, err := a.Current(ctx, tg, t0)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "state at t0", controller.State{Value: 10, Constraints: stConstraints(1, 40)}, st)

	if err := a.Apply(ctx, tg, 10, 25, t0); err != nil {
		t.Fatal(err)
	}
	if got, want := fake.SFN.Machine(machineARN).Definition, readFile(t, filepath.Join("testdata", "asl", "nested-jsonpath.golden.json")); got != want {
		t.Errorf("written definition is not the golden one (-want +got):\n%s", cmp.Diff(want, got))
	}
	if n := len(fake.Calls("UpdateStateMachine")); n != 1 {
		t.Errorf("UpdateStateMachine calls = %d, want 1", n)
	}

	// Someone edits it by hand: the next tick reads the drift.
	hand, _ := SetMaxConcurrency(src, tg.StepFunctions.MapState, 7)
	fake.SFN.Edit(machineARN, hand)
	t1 := t0.Add(time.Minute)
	if st, _ := a.Current(ctx, tg, t1); st.Value != 7 {
		t.Errorf("after a hand edit, current = %v, want 7", st.Value)
	}
	// Revert puts the original back; an equal value sends nothing.
	if err := a.Apply(ctx, tg, 7, 10, t1); err != nil {
		t.Fatal(err)
	}
	if err := a.Apply(ctx, tg, 10, 10, t1); err != nil {
		t.Fatal(err)
	}
	if fake.SFN.Machine(machineARN).Definition != src {
		t.Error("revert did not restore the original definition byte for byte")
	}
	if n := len(fake.Calls("UpdateStateMachine")); n != 2 {
		t.Errorf("UpdateStateMachine calls = %d, want 2 (no call for a no-op)", n)
	}
}

func stConstraints(floor, ceiling float64) policy.Constraints {
	return policy.Constraints{Floor: floor, Ceiling: ceiling}
}

// TestStepFunctionsMapRefusals: dynamic concurrency, concurrent edits,
// AWS's refusals, each with its class.
func TestStepFunctionsMapRefusals(t *testing.T) {
	t.Run("MaxConcurrencyPath in definition mode", func(t *testing.T) {
		_, a := sfnFake(t, readFile(t, filepath.Join("testdata", "asl", "path.asl.json")))
		_, err := a.Current(ctx, mapTarget(config.MapModeDefinition, "Fan out"), t0)
		wantClass(t, err, controller.ClassInvalid)
		if !strings.Contains(err.Error(), "use mode: parameter") {
			t.Errorf("error %v does not point at mode: parameter", err)
		}
	})
	t.Run("edited between read and write", func(t *testing.T) {
		src := readFile(t, filepath.Join("testdata", "asl", "nested-jsonpath.asl.json"))
		fake, a := sfnFake(t, src)
		tg := mapTarget(config.MapModeDefinition, "Process", "Fan out")
		if _, err := a.Current(ctx, tg, t0); err != nil {
			t.Fatal(err)
		}
		fake.SFN.Edit(machineARN, strings.Replace(src, "Validate", "Check", 2))
		wantClass(t, a.Apply(ctx, tg, 10, 20, t0), controller.ClassConflict)
		if n := len(fake.Calls("UpdateStateMachine")); n != 0 {
			t.Errorf("UpdateStateMachine sent over a concurrent edit (%d calls)", n)
		}
	})
	for _, tc := range []struct {
		code string
		want controller.Class
	}{{"AccessDeniedException", controller.ClassPermission}, {"ThrottlingException", controller.ClassThrottled}, {"InvalidDefinition", controller.ClassInvalid}, {"ConflictException", controller.ClassConflict}} {
		t.Run(tc.code, func(t *testing.T) {
			fake, a := sfnFake(t, readFile(t, filepath.Join("testdata", "asl", "nested-jsonpath.asl.json")))
			tg := mapTarget(config.MapModeDefinition, "Process", "Fan out")
			a.Current(ctx, tg, t0)
			for range 3 { // the SDK's retries see it too
				fake.Fail("UpdateStateMachine", awsfake.APIError{Code: tc.code, Message: tc.code})
			}
			wantClass(t, a.Apply(ctx, tg, 10, 20, t0), tc.want)
		})
	}
	t.Run("update budget spent", func(t *testing.T) {
		fake, conn := connect(t, awsclient.Options{BudgetCaps: map[awsclient.Plane]int{awsclient.PlaneStatesUpdate: 0}})
		fake.SFN.AddStateMachine(machineARN, readFile(t, filepath.Join("testdata", "asl", "nested-jsonpath.asl.json")))
		a := NewStepFunctionsMap(conn, NewParameter(conn))
		tg := mapTarget(config.MapModeDefinition, "Process", "Fan out")
		a.Current(ctx, tg, t0)
		wantClass(t, a.Apply(ctx, tg, 10, 20, t0), controller.ClassThrottled)
		if n := len(fake.Calls("UpdateStateMachine")); n != 0 {
			t.Errorf("UpdateStateMachine sent past the budget")
		}
	})
}

// TestStepFunctionsMapPublish: each change is a published version and the
// alias moves to it; unpublished work and split aliases hold the target.
func TestStepFunctionsMapPublish(t *testing.T) {
	src := readFile(t, filepath.Join("testdata", "asl", "jsonata-distributed.asl.json"))
	fake, a := sfnFake(t, src)
	fake.SFN.Edit(machineARN, src) // revision 2
	// Version 1 is what the alias serves.
	fake.SFN.AddAlias(machineARN, "live", nil)
	up, _ := SetMaxConcurrency(src, []string{"Items"}, 100)
	fake.SFN.Edit(machineARN, up)
	publishVersion(t, fake)
	fake.SFN.AddAlias(machineARN, "live", map[string]int{machineARN + ":1": 100})

	tg := mapTarget(config.MapModeDefinition, "Items")
	tg.Max, tg.StepFunctions.Publish, tg.StepFunctions.Alias = 10000, true, "live"
	st, err := a.Current(ctx, tg, t0)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "state", controller.State{Value: 100, Constraints: stConstraints(1, 10000)}, st)
	if err := a.Apply(ctx, tg, 100, 400, t0); err != nil {
		t.Fatal(err)
	}
	if got := fake.SFN.AliasRoutes(machineARN + ":live"); len(got) != 1 || got[machineARN+":2"] != 100 {
		t.Fatalf("alias routes = %v, want version 2 at 100", got)
	}
	m := fake.SFN.Machine(machineARN)
	if got, _ := ReadMap(m.Versions[1], []string{"Items"}); got.Value != 400 {
		t.Errorf("published version has %+v", got)
	}

	// Someone else's unpublished edit: autotuner will not publish it.
	fake.SFN.Edit(machineARN, strings.Replace(m.Definition, `"Label":"Items"`, `"Label":"Lines"`, 1))
	t1 := t0.Add(time.Minute)
	st, err = a.Current(ctx, tg, t1)
	if err != nil || !strings.Contains(st.Constraints.Blocked, "unpublished changes") {
		t.Fatalf("unpublished edit: %+v, %v", st, err)
	}
	wantClass(t, a.Apply(ctx, tg, 400, 500, t1), controller.ClassConflict)

	// A canary in progress: the alias splits traffic.
	fake.SFN.AddAlias(machineARN, "live", map[string]int{machineARN + ":1": 90, machineARN + ":2": 10})
	_, err = a.Current(ctx, tg, t1.Add(time.Minute))
	wantClass(t, err, controller.ClassConflict)
}

func publishVersion(t *testing.T, fake *awsfake.Server) {
	t.Helper()
	c, err := awsclient.New(ctx, awsclient.Options{NoRateLimits: true})
	if err != nil {
		t.Fatal(err)
	}
	cl, _ := c.For("", "")
	if _, err := cl.SFN.PublishStateMachineVersion(ctx, &sfn.PublishStateMachineVersionInput{StateMachineArn: aws.String(machineARN)}); err != nil {
		t.Fatal(err)
	}
}
