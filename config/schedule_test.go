package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseScheduleEnforcesTheMinimumInterval(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want string // "" for valid
	}{
		{"@every 1m", ""},
		{"@every 10s", ""},
		{"*/10 * * * * *", ""},
		{"0 */5 * * * *", ""},
		{"*/5 * * * *", ""},
		{"CRON_TZ=Europe/Paris 0 3 * * *", ""},
		{"@hourly", ""},
		{"@every 1ns", "every 1ns is too often; the shortest interval is 10s"},
		{"@every 9s", "every 9s is too often"},
		{"@every 9.5s", "every 9.5s is too often"},
		{"* * * * * *", "fires 1s apart; the shortest interval is 10s"},
		{"0,5 * * * * *", "fires 5s apart"},
		{"0,5 0 0 * * *", "fires 5s apart"},
		{"*/0 * * * * * *", "expected 5 to 6 fields"},
		{"*/0 * * * * *", "step"},
		{"0 0 30 2 *", "never fires"},
		{"TZ=", "malformed"},
	} {
		_, err := ParseSchedule(tc.spec)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v, want valid", tc.spec, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: err = %v, want %q", tc.spec, err, tc.want)
		}
	}
}

// validate and run share one parser: a schedule the daemon would refuse is
// refused with its position when the file is read.
func TestScheduleErrorsHaveTheirPosition(t *testing.T) {
	src := `version: 1
defaults:
  schedule: "*/0 * * * * * *"
targets:
  - name: a
    kind: lambda-reserved-concurrency
    function: a
    min: 1
    max: 10
    schedule: "@every 1ns"
    signals: {s: {namespace: N, metric: M, stat: Sum}}
    policy: {static: {}}
`
	_, err := Parse("p.yaml", []byte(src))
	if err == nil {
		t.Fatal("bad schedules accepted")
	}
	want := []string{
		`p.yaml:3:13: defaults.schedule: invalid schedule "*/0 * * * * * *": expected 5 to 6 fields, found 7: [*/0 * * * * * *]`,
		`p.yaml:10:15: targets[0].schedule: invalid schedule "@every 1ns": every 1ns is too often; the shortest interval is 10s`,
	}
	if diff := cmp.Diff(want, strings.Split(err.Error(), "\n")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestShortestGapOfAConstantSchedule(t *testing.T) {
	s, err := ParseSchedule("0 */5 * * * *")
	if err != nil {
		t.Fatal(err)
	}
	if got := shortestGap(s); got != 5*time.Minute {
		t.Errorf("gap = %v, want 5m", got)
	}
}

func TestUnknownRegionsAreRefusedWithTheirPosition(t *testing.T) {
	file := func(defaults, region string) string {
		return "version: 1\ndefaults: {" + defaults + "}\ntargets:\n" +
			"  - {name: a, kind: lambda-reserved-concurrency, function: a, region: " + region + ", min: 1, max: 10, signals: {s: {namespace: N, metric: M, stat: Sum}}, policy: {static: {}}}\n"
	}
	for _, tc := range []struct {
		defaults, region string
		want             string
	}{
		{"region: us-east-1", "eu-west-3", ""},
		{"region: us-east-1", "cn-north-1", ""},
		{"region: us-east-1", "us-gov-west-1", ""},
		{"region: us-east-1", "us-esat-1", `p.yaml:4:71: targets[0].region: unknown region "us-esat-1": did you mean "us-east-1"? the AWS SDK in this build (aws-sdk-go-v2 ` + sdkRegionsVersion + `) does not know it; for a region newer than the SDK, set defaults.allow_unknown_regions: true`},
		{"region: us-east-1", "us-east-9", `unknown region "us-east-9": did you mean "us-east-1"?`},
		{"region: us-east-9", "us-east-1", `p.yaml:2:20: defaults.region: unknown region "us-east-9"`},
		{"region: xx-north-7, allow_unknown_regions: true", "us-east-9", ""},
		{"allow_unknown_regions: true", "US-East-1", "is not an AWS region name"},
	} {
		_, err := Parse("p.yaml", []byte(file(tc.defaults, tc.region)))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s / %s: %v, want valid", tc.defaults, tc.region, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s / %s: err = %v, want %q", tc.defaults, tc.region, err, tc.want)
		}
	}
}

func TestEditDistanceCountsASwapAsOne(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"us-esat-1", "us-east-1", 1},
		{"us-east-9", "us-east-1", 1},
		{"eu-west-1", "eu-west-1", 0},
		{"", "ab", 2},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
