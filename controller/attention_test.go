package controller

import "testing"

func TestNeedsHuman(t *testing.T) {
	for c, want := range map[Class]bool{
		ClassNone: false, ClassThrottled: false, ClassTransient: false, ClassConflict: false, ClassQuota: false,
		ClassInvalid: true, ClassPermission: true, ClassNotFound: true, ClassRefused: true, ClassInternal: true,
	} {
		if got := c.NeedsHuman(); got != want {
			t.Errorf("%q.NeedsHuman() = %v, want %v", c, got, want)
		}
	}
}
