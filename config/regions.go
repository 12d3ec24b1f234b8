package config

//go:generate go run ./internal/genregions

import (
	"fmt"
	"sort"
)

// A region name that is well formed but unknown (us-esat-1, us-east-9)
// would otherwise pass validation and fail every tick as a retried
// network error. The list is the SDK's own partition metadata, so a region
// is known exactly when this build's SDK knows it; a region launched after
// the SDK release needs allow_unknown_regions.

func knownRegion(r string) bool {
	_, ok := sdkRegions[r]
	return ok
}

// checkRegion reports an unknown region at key, naming the closest known.
func (o *obj) checkRegion(key, r string, allowUnknown bool) {
	if !regionRE.MatchString(r) {
		o.check(false, key, "is not an AWS region name: %q", r)
		return
	}
	if allowUnknown || knownRegion(r) {
		return
	}
	hint := ""
	if near := nearestRegion(r); near != "" {
		hint = fmt.Sprintf("did you mean %q? ", near)
	}
	o.check(false, key, "unknown region %q: %sthe AWS SDK in this build (aws-sdk-go-v2 %s) does not know it; for a region newer than the SDK, set defaults.allow_unknown_regions: true", r, hint, sdkRegionsVersion)
}

// nearestRegion is the known region fewest edits away, if close enough
// to be a typo (at most 2 edits).
func nearestRegion(r string) string {
	names := make([]string, 0, len(sdkRegions))
	for k := range sdkRegions {
		names = append(names, k)
	}
	sort.Strings(names) // ties go to the first name, the same every run
	best, bestD := "", 3
	for _, k := range names {
		if d := editDistance(r, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance counts single-character insertions, deletions,
// substitutions and adjacent swaps (us-esat-1 is one swap from us-east-1).
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
