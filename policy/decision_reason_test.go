package policy

import (
	"testing"
	"time"
)

func TestReasonTextSaysWhatItsNumbersAre(t *testing.T) {
	for _, tc := range []struct {
		r    Reason
		want string
	}{
		{Reason{Code: ReasonMissing, Signal: "busy"}, "missing data (busy)"},
		{Reason{Code: ReasonDebounceDn, Signal: "busy", Value: 2, Param: 5}, "debounce down (busy = 2, acts after 5 in a row)"},
		{Reason{Code: ReasonDebounceUp, Signal: "busy", Value: 9, Param: 2}, "debounce up (busy = 9, acts after 2 in a row)"},
		{Reason{Code: ReasonAboveBand, Signal: "busy", Value: 91, Param: 0.7}, "above band (busy = 91, setpoint 0.7)"},
		{Reason{Code: ReasonDebounceUp, Until: time.Date(2026, 1, 1, 0, 5, 0, 0, time.UTC)}, "debounce up until 2026-01-01T00:05:00Z"},
		{Reason{Code: ReasonStatic, Param: 40}, "static 40"},
	} {
		if got := tc.r.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.r, got, tc.want)
		}
	}
}
