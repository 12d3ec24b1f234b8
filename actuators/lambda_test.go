package actuators

import (
	"strings"
	"time"

	"testing"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsclient"
	"github.com/autotuner/autotuner/internal/awsfake"
	"github.com/autotuner/autotuner/policy"
)

func fn(name string) *config.Target {
	return &config.Target{Name: name, Kind: config.LambdaReservedConcurrency, Function: name, Min: 1, Max: 1000}
}

func ptr(n int) *int { return &n }

func TestLambdaReservedFloorAndCalls(t *testing.T) {
	fake, conn := connect(t, awsclient.Options{})
	fake.Lambda.AddFunction("a", ptr(100))
	fake.Lambda.AddFunction("b", ptr(700)) // 200 left unreserved
	fake.Lambda.AddFunction("free", nil)
	l := NewLambdaReserved(conn)

	st, err := l.Current(ctx, fn("a"), t0)
	if err != nil {
		t.Fatal(err)
	}
	// a may grow to what is unreserved (200) plus its own 100, less the floor.
	diff(t, "state of a", controller.State{Value: 100, Constraints: policy.Constraints{Floor: 1, Ceiling: 200}}, st)

	// Read through GetFunction, whose quota is its own (100 rps), not
	// GetFunctionConcurrency, which shares the 15 rps of every change.
	gets := fake.Calls("GetFunction")
	if len(gets) != 1 || gets[0].Method != "GET" || gets[0].Path != "/2015-03-31/functions/a" {
		t.Errorf("GetFunction = %+v", gets)
	}
	if n := len(fake.Calls("GetFunctionConcurrency")); n != 0 {
		t.Errorf("GetFunctionConcurrency called %d times", n)
	}

	// Over the floor: refused before AWS is asked.
	err = l.Apply(ctx, fn("a"), 100, 201, t0)
	wantClass(t, err, controller.ClassInvalid)
	if n := len(fake.Calls("PutFunctionConcurrency")); n != 0 {
		t.Fatalf("a change over the floor was sent (%d calls)", n)
	}
	if err := l.Apply(ctx, fn("a"), 100, 150, t0); err != nil {
		t.Fatal(err)
	}
	puts := fake.Calls("PutFunctionConcurrency")
	if len(puts) != 1 || puts[0].Method != "PUT" || puts[0].Path != "/2017-10-31/functions/a/concurrency" {
		t.Fatalf("PutFunctionConcurrency = %+v", puts)
	}
	diff(t, "Put body", map[string]any{"ReservedConcurrentExecutions": 150.0}, body(t, puts[0]))

	// GetAccountSettings is read once per tick for the whole account.
	if _, err := l.Current(ctx, fn("free"), t0); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.Calls("GetAccountSettings")); n != 1 {
		t.Errorf("GetAccountSettings calls = %d in one tick, want 1", n)
	}
	// "free" has no reservation: its value is the unreserved pool, now 150,
	// and the floor holds it to 50 — the ledger counts a's change.
	st, _ = l.Current(ctx, fn("free"), t0)
	diff(t, "state of free", controller.State{Value: 150, Unset: true, Constraints: policy.Constraints{Floor: 1, Ceiling: 50}}, st)
	wantClass(t, l.Apply(ctx, fn("free"), 150, 51, t0), controller.ClassInvalid)
	if err := l.Apply(ctx, fn("free"), 150, 50, t0); err != nil {
		t.Fatal(err)
	}
	if u := fake.Lambda.Unreserved(); u != 100 {
		t.Errorf("unreserved = %d, want exactly the floor of 100", u)
	}
}

func TestLambdaReservedZeroNeedsAllowZero(t *testing.T) {
	fake, conn := connect(t, awsclient.Options{})
	fake.Lambda.AddFunction("a", ptr(10))
	l := NewLambdaReserved(conn)
	if _, err := l.Current(ctx, fn("a"), t0); err != nil {
		t.Fatal(err)
	}
	wantClass(t, l.Apply(ctx, fn("a"), 10, 0, t0), controller.ClassInvalid)
	tg := fn("a")
	tg.AllowZero = true
	st, _ := l.Current(ctx, tg, t0)
	if st.Constraints.Floor != 0 {
		t.Errorf("floor with allow_zero = %v, want 0", st.Constraints.Floor)
	}
	if err := l.Apply(ctx, tg, 10, 0, t0); err != nil {
		t.Fatal(err)
	}
	if r := fake.Lambda.Reserved("a"); r == nil || *r != 0 {
		t.Errorf("reservation = %v, want 0", r)
	}
	// Without allow_zero, a 0 found in place is someone's emergency stop:
	// the target is blocked, never raised back to min.
	st, _ = l.Current(ctx, fn("a"), t0.Add(time.Minute))
	if st.Value != 0 || !strings.Contains(st.Constraints.Blocked, "stopped by hand") {
		t.Errorf("state of a stopped function = %+v, want 0 and blocked", st)
	}
}

func TestLambdaErrorsDecodedAndClassified(t *testing.T) {
	fake, conn := connect(t, awsclient.Options{})
	fake.Lambda.AddFunction("a", ptr(10))
	l := NewLambdaReserved(conn)
	if _, err := l.Current(ctx, fn("a"), t0); err != nil {
		t.Fatal(err)
	}

	// Another tool reserved concurrency since we read: AWS enforces the
	// floor and says so.
	fake.Fail("PutFunctionConcurrency", awsfake.APIError{Status: 400, Code: "InvalidParameterValueException", Message: "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100]."})
	err := l.Apply(ctx, fn("a"), 10, 20, t0)
	wantClass(t, err, controller.ClassInvalid)
	var ae *awsclient.Error
	if !asError(err, &ae) || ae.Code != "InvalidParameterValueException" || ae.Op != "PutFunctionConcurrency" {
		t.Errorf("error = %#v, want the decoded InvalidParameterValueException", err)
	}

	// TooManyRequestsException is retried by the SDK.
	fake.Reset()
	fake.Fail("PutFunctionConcurrency", awsfake.APIError{Status: 429, Code: "TooManyRequestsException", Message: "Rate exceeded", Fields: map[string]any{"Reason": "CallerRateLimitExceeded", "retryAfterSeconds": "1"}})
	if err := l.Apply(ctx, fn("a"), 10, 20, t0); err != nil {
		t.Fatalf("Apply after one 429 = %v, want a retried success", err)
	}
	if n := len(fake.Calls("PutFunctionConcurrency")); n != 2 {
		t.Errorf("Put calls = %d, want 2 (throttled, then retried)", n)
	}
	// Persistent throttling ends as a throttled error.
	fake.Reset()
	tm := awsfake.APIError{Status: 429, Code: "TooManyRequestsException", Message: "Rate exceeded"}
	fake.Fail("GetFunction", tm, tm, tm)
	_, err = l.Current(ctx, fn("a"), t0.Add(time.Minute))
	wantClass(t, err, controller.ClassThrottled)

	fake.Fail("GetFunction", awsfake.APIError{Status: 403, Code: "AccessDeniedException", Message: "User is not authorized to perform: lambda:GetFunction"})
	_, err = l.Current(ctx, fn("a"), t0.Add(2*time.Minute))
	wantClass(t, err, controller.ClassPermission)

	_, err = l.Current(ctx, fn("missing"), t0.Add(2*time.Minute))
	wantClass(t, err, controller.ClassNotFound)
}

func TestLambdaBudgetDefersReads(t *testing.T) {
	fake, conn := connect(t, awsclient.Options{BudgetCaps: map[awsclient.Plane]int{awsclient.PlaneLambdaGet: 2}})
	for _, n := range []string{"a", "b", "c"} {
		fake.Lambda.AddFunction(n, ptr(10))
	}
	l := NewLambdaReserved(conn)
	// a: GetFunction + GetAccountSettings (the shared plane); b: one more
	// GetFunction; c: none left.
	for _, n := range []string{"a", "b"} {
		if _, err := l.Current(ctx, fn(n), t0); err != nil {
			t.Fatal(err)
		}
	}
	_, err := l.Current(ctx, fn("c"), t0)
	wantClass(t, err, controller.ClassThrottled)
	if n := len(fake.Calls("")); n != 3 {
		t.Errorf("calls = %d, want 3: the budget of the tick", n)
	}
	// The next tick has a fresh budget.
	if _, err := l.Current(ctx, fn("c"), t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
}

func TestLambdaSQSMaxConcurrency(t *testing.T) {
	fake, conn := connect(t, awsclient.Options{})
	fake.Lambda.AddESM("uuid-1", awsfake.ESM{})
	fake.Lambda.AddESM("uuid-2", awsfake.ESM{MaxConcurrency: ptr(10), State: "Updating"})
	l := &LambdaSQS{Conn: conn}
	tg := &config.Target{Name: "esm", Kind: config.LambdaSQSMaxConcurrency, EventSourceMapping: "uuid-1", Min: 2, Max: 1000}

	st, err := l.Current(ctx, tg, t0)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "uncapped mapping", controller.State{Value: 1000, Unset: true, Constraints: policy.Constraints{Floor: 2, Ceiling: 1000}}, st)
	if err := l.Apply(ctx, tg, 1000, 20, t0); err != nil {
		t.Fatal(err)
	}
	ups := fake.Calls("UpdateEventSourceMapping")
	if len(ups) != 1 || ups[0].Method != "PUT" || ups[0].Path != "/2015-03-31/event-source-mappings/uuid-1" {
		t.Fatalf("UpdateEventSourceMapping = %+v", ups)
	}
	diff(t, "body", map[string]any{"ScalingConfig": map[string]any{"MaximumConcurrency": 20.0}}, body(t, ups[0]))
	wantClass(t, l.Apply(ctx, tg, 20, 1, t0), controller.ClassInvalid)
	wantClass(t, l.Apply(ctx, tg, 20, 1001, t0), controller.ClassInvalid)

	tg.EventSourceMapping = "uuid-2"
	st, err = l.Current(ctx, tg, t0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Value != 10 || st.Constraints.Blocked != "event source mapping is Updating" {
		t.Errorf("updating mapping = %+v", st)
	}
}
