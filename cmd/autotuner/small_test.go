package main

import (
	"strings"
	"testing"
	"time"
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
