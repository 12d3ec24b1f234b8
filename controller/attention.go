package controller

// NeedsHuman says whether an error of this class waits for a person. The
// next tick cannot fix a missing permission, a resource that does not
// exist, a value the service refuses, autotuner's own refusal (Application
// Auto Scaling owns the resource, ...) or a bug; throttling, transient
// faults, conflicting changes and a spent decrease quota clear by
// themselves, so paging for them would only teach people to ignore pages.
// The Lambda mode publishes the count as NeedsAttention, which
// deploy/sam/template.yaml alarms on.
func (c Class) NeedsHuman() bool {
	switch c {
	case ClassPermission, ClassNotFound, ClassInvalid, ClassRefused, ClassInternal:
		return true
	}
	return false
}
