package controller

import (
	"fmt"
	"slices"
	"strings"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/policy"
)

// noteSenseFailure marks the record of a target whose signals could not
// all be read: it is running blind on them, whatever its other signals
// and the other targets got, so its tick is a sensing failure. A signal
// the service answered with no data is not a failure (its missing-data
// rule decides), nor is another target's limit not trusted yet.
func noteSenseFailure(t *config.Target, sig policy.Signals, rec *Record) {
	var names []string
	for name, s := range sig {
		if !s.Valid && s.Failed != "" {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n
		if why := sig[n].Why; why != "" {
			parts[i] += " (" + why + ")"
		}
	}
	rec.Stage, rec.SenseFailed = "sense", true
	rec.ErrorClass = Class(sig[names[0]].Failed)
	rec.Error = fmt.Sprintf("%d of %d signals could not be read: %s", len(names), len(t.SignalList), strings.Join(parts, "; "))
}

// SenseFailures lists the targets of the tick that could not read their
// signals: every target when the batched read failed.
func (r *Result) SenseFailures() []string {
	var out []string
	for _, rec := range r.Records {
		if rec.SenseFailed {
			out = append(out, rec.Target)
		}
	}
	return out
}
