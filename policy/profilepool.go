package policy

import "sync"

// A seasonal profile is copied on write by every evaluation that learns
// (4 KB a target a tick): in the simulator, which runs the controller
// for weeks of simulated time, that copy was most of its allocation. A
// store that knows a replaced profile is referred to no more hands it
// back with RecycleProfile, and the next copy reuses it.
var profiles = sync.Pool{New: func() any { return new(Profile) }}

// copyProfile returns a copy of p (a zero profile when p is nil) that
// nothing else refers to.
func copyProfile(p *Profile) *Profile {
	c := profiles.Get().(*Profile)
	if p != nil {
		*c = *p
	} else {
		*c = Profile{}
	}
	return c
}

// RecycleProfile hands back a profile for reuse. Only a caller that
// holds the last reference may: no Memory, stored or in use, may refer
// to p afterwards, for a later Decide will overwrite it.
func RecycleProfile(p *Profile) {
	if p != nil {
		profiles.Put(p)
	}
}
