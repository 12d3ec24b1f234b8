package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/autotuner/autotuner/lambdamode"
)

func TestWallTimeIsNeverZero(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{38*time.Millisecond + 412*time.Microsecond, "38ms"},
		{1234 * time.Millisecond, "1.2s"},
		{73*time.Second + 400*time.Millisecond, "1m13s"},
		{15 * time.Microsecond, "15µs"},
		{900 * time.Nanosecond, "900ns"},
	} {
		if got := wallTime(tc.d); got != tc.want {
			t.Errorf("wallTime(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestValidateSaysWhatWasWrongWithItsArguments(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"validate"}, "name the policies file to check"},
		{[]string{"validate", "a.yaml", "b.yaml"}, `one policies file at a time, got 2: ["a.yaml" "b.yaml"]`},
	} {
		code, _, errs := cli(t, tc.args...)
		if code != exitUsage || !strings.Contains(errs, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, code, errs, exitUsage, tc.want)
		}
	}
}

// Outside Lambda, with the state table set as in the function's
// configuration, `autotuner lambda` points at --event rather than leaving
// the runtime library to complain about its variables.
func TestLambdaOutsideLambdaHintsAtEvent(t *testing.T) {
	var started bool
	prev := startLambda
	startLambda = func(context.Context, *lambdamode.Handler) { started = true }
	t.Cleanup(func() { startLambda = prev })
	e, _, errb := lambdaEnv(map[string]string{envStateTable: "autotuner", "AWS_REGION": "us-east-1"})
	if code := run(context.Background(), e, []string{"lambda"}); code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
	if started || !strings.Contains(errb.String(), "not inside AWS Lambda") || !strings.Contains(errb.String(), "--event FILE") {
		t.Errorf("started %v, stderr %q: want a hint of --event", started, errb.String())
	}
}
