package discover

import (
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Header is what a written policies file says about its making.
type Header struct {
	Region string
	Tags   map[string]string
	Days   int
	At     time.Time
}

// Render writes a policies file in dry-run mode: a target in four lines
// per limit found (its kind's preset supplies signals and policy), each
// under a comment saying what was found and why its bounds are what they
// are. What autotuner must not or cannot tune (Application Auto Scaling
// manages it, no limit in force) is written commented out, with the reason.
func Render(w io.Writer, h Header, rs []Resource, peaks []Peak) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by `autotuner init` at %s from the limits found in %s", h.At.UTC().Format(time.RFC3339), h.Region)
	if len(h.Tags) > 0 {
		fmt.Fprintf(&b, " tagged %s", tagList(h.Tags))
	}
	fmt.Fprintf(&b, ".\n# Bounds come from each limit and its last %d days of CloudWatch.\n", h.Days)
	b.WriteString("# Everything starts in dry-run: check it with `autotuner plan -c FILE`, then\n# set dry_run: false per target, or in defaults. Keys: docs/policies.md.\n")
	fmt.Fprintf(&b, "version: 1\ndefaults:\n  region: %s\n  dry_run: true\ntargets:\n", h.Region)
	names := map[string]int{}
	active := 0
	for i := range rs {
		r := &rs[i]
		var p Peak
		if i < len(peaks) {
			p = peaks[i]
		}
		if writeTarget(&b, r, p, h.Days, uniqueName(names, r)) {
			active++
		}
	}
	if active == 0 {
		// A file needs one target; an empty list says plainly that
		// nothing was found.
		return fmt.Errorf("found no limit autotuner can tune in %s%s", h.Region, map[bool]string{true: " with tags " + tagList(h.Tags)}[len(h.Tags) > 0])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeTarget writes one target, commented out when it must be left
// alone; it reports whether it wrote an active one.
func writeTarget(b *strings.Builder, r *Resource, p Peak, days int, name string) bool {
	bounds := BoundsFor(r, p, days)
	var skip string
	switch {
	case r.AutoScaling != "":
		skip = fmt.Sprintf("left alone: Application Auto Scaling manages it (%s); two controllers would fight", r.AutoScaling)
	case !r.HasLimit:
		skip = "no limit in force: uncomment to have autotuner set one"
	case r.Metric.Name == "":
		skip = "its metrics cannot be named (a usage plan with no API stage): declare signals yourself"
	}
	fmt.Fprintf(b, "\n  # %s.\n  # %s.\n", r.Found, bounds.Why)
	prefix := "  "
	if skip != "" {
		fmt.Fprintf(b, "  # %s.\n", skip)
		prefix = "  # "
	}
	fmt.Fprintf(b, "%s- name: %s\n", prefix, name)
	item := "    "
	if skip != "" {
		item = "  #   "
	}
	fmt.Fprintf(b, "%skind: %s\n", item, r.Kind)
	for _, kv := range r.Keys {
		fmt.Fprintf(b, "%s%s: %s\n", item, kv[0], quote(kv[1]))
	}
	fmt.Fprintf(b, "%smin: %s\n%smax: %s\n", item, num(bounds.Min), item, num(bounds.Max))
	return skip == ""
}

var plainRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:/-]*$`)

// quote writes a value YAML reads back as the same string.
func quote(s string) string {
	// A trailing colon would make the value a mapping key ("0:").
	if plainRE.MatchString(s) && !strings.Contains(s, ": ") && !strings.HasSuffix(s, ":") && !looksScalar(s) {
		return s
	}
	return strconv.Quote(s)
}

// looksScalar is true for what YAML would read as a number, bool or null.
func looksScalar(s string) bool {
	if _, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64); err == nil {
		return true
	}
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "null", "~", "y", "n":
		return true
	}
	return false
}

var badName = regexp.MustCompile(`[^A-Za-z0-9_.:-]+`)

// uniqueName is a valid target name for r, unique in the file.
func uniqueName(seen map[string]int, r *Resource) string {
	n := badName.ReplaceAllString(r.Name, "-")
	n = strings.TrimLeft(n, "-_.:")
	if len(n) > 120 {
		n = n[:120]
	}
	if n == "" {
		n = "target"
	}
	seen[n]++
	if seen[n] > 1 {
		n = fmt.Sprintf("%s-%d", n, seen[n])
	}
	return n
}

func tagList(tags map[string]string) string {
	var kv []string
	for k, v := range tags {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}
