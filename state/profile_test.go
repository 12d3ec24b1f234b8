package state

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/autotuner/autotuner/policy"
)

// learnedProfile is a memory whose seasonal profile is full: every cycle
// seen, every slot holding a distinct value, so a store that dropped or
// rounded any of them shows in a diff.
func learnedProfile() policy.Memory {
	m := sample(3)
	p := &policy.Profile{}
	p.Hour.Start = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	p.Day.Start = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	for c := range policy.HourCycles {
		p.Hour.Seen[c] = true
		for i := range policy.HourSlots {
			p.Hour.Peaks[c][i] = float32(1000+c*policy.HourSlots+i) + 0.123
		}
		p.Hour.Level[c], p.Hour.Fence[c] = float32(c)+0.5, float32(c)+0.25
	}
	for c := range policy.DayCycles {
		p.Day.Seen[c] = true
		for i := range policy.DaySlots {
			p.Day.Peaks[c][i] = float32(5000+c*policy.DaySlots+i) + 0.789
		}
		p.Day.Level[c], p.Day.Fence[c] = float32(c)+1.5, float32(c)+1.25
	}
	m.Profile = p
	return m
}

// The seasonal profile lives in the target's memory, so it survives a
// restart of the daemon (the state file, reopened) exactly.
func TestFileKeepsTheSeasonalProfileAcrossARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	want := learnedProfile()
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Save(ctx, "orders", want); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	f.Close()

	g, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	got, err := g.Load(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("profile after a restart (-want +got):\n%s", diff)
	}
}

// A full profile stays far below DynamoDB's item size limit of 400 KB
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html#limits-items),
// which the DynamoDB store (the Lambda mode's, and the daemon's when it
// shares one) writes a memory into: its size is bounded by the profile's
// fixed arrays, whatever the history.
func TestSeasonalProfileSizeIsBounded(t *testing.T) {
	b, err := json.Marshal(learnedProfile())
	if err != nil {
		t.Fatal(err)
	}
	const budget = 32 << 10 // a tenth of the item limit, with room for the rest of the memory
	if len(b) > budget {
		t.Errorf("a memory with a full profile is %d bytes of JSON, want at most %d", len(b), budget)
	}
	if n := policy.HourCycles*policy.HourSlots + policy.DayCycles*policy.DaySlots; n > 1100 {
		t.Errorf("the profile holds %d slots, want about a thousand", n)
	}
}
