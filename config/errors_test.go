package config

import (
	"errors"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/autotuner/autotuner/policy"
	"go.yaml.in/yaml/v3"
)

// Deliberately broken files: each is rejected with every problem, one
// FILE:LINE:COL: path: message line each, and no File at all.
func TestBrokenFiles(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string
	}{{
		file: "unknown_key.yaml",
		want: []string{
			"testdata/unknown_key.yaml:4:3: defaults.retries: unknown key (known keys here: allow_unknown_regions, discover_every, dry_run, forget_after, interval, metric_delay, period, probation, region, schedule)",
			"testdata/unknown_key.yaml:12:82: targets[0].signals.busy.colour: unknown key (known keys here: delay, dimensions, expression, metric, missing, namespace, per_second, period, region, source, stat)",
			"testdata/unknown_key.yaml:16:30: targets[0].policy.autotuner.up.cooldwn: unknown key (known keys here: after, cooldown, max_step, max_units)",
		},
	}, {
		file: "wrong_type.yaml",
		want: []string{
			`testdata/wrong_type.yaml:3:13: defaults.interval: must be a duration such as 90s, 5m or 1h, got "often"`,
			`testdata/wrong_type.yaml:4:12: defaults.dry_run: must be true or false, got "maybe"`,
			`testdata/wrong_type.yaml:9:10: targets[0].min: must be a number, got "lots"`,
			`testdata/wrong_type.yaml:10:10: targets[0].max: must be a single value, got a list`,
			`testdata/wrong_type.yaml:16:19: targets[0].policy.autotuner.pid.kp: must be a number, got "high"`,
		},
	}, {
		file: "bad_percent.yaml",
		want: []string{
			`testdata/bad_percent.yaml:12:45: targets[0].policy.autotuner.utilization.target: must be a percentage such as 50%, got "70"`,
			`testdata/bad_percent.yaml:13:15: targets[0].policy.autotuner.band: must be between 0% and 90%, got 250%`,
			`testdata/bad_percent.yaml:14:26: targets[0].policy.autotuner.down.max_step: must be above 0% and at most 99%, got 100%`,
		},
	}, {
		file: "missing_signal.yaml",
		want: []string{
			`testdata/missing_signal.yaml:13:20: targets[0].policy.autotuner.throttles: names signal "throttled", which is not declared under signals (declared: busy)`,
			`testdata/missing_signal.yaml:15:18: targets[0].guards[0].signal: names signal "table_pain", which is not declared under signals (declared: busy)`,
		},
	}, {
		file: "bad_kind.yaml",
		want: []string{
			`testdata/bad_kind.yaml:4:11: targets[0].kind: unknown kind "lambda-concurrency" (one of lambda-reserved-concurrency, lambda-sqs-max-concurrency, apigateway-usage-plan, apigateway-stage, apigatewayv2-stage, dynamodb-provisioned, dynamodb-on-demand-max, stepfunctions-map, parameter, ratelimit-bucket)`,
		},
	}, {
		file: "duplicate_target.yaml",
		want: []string{
			`testdata/duplicate_target.yaml:12:11: targets[1].name: duplicate target name "orders-consumer" (also targets[0])`,
		},
	}} {
		t.Run(tc.file, func(t *testing.T) {
			f, err := Load("testdata/" + tc.file)
			if f != nil {
				t.Fatal("a broken file returned a File")
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("err = %v, want Errors", err)
			}
			if diff := cmp.Diff(tc.want, strings.Split(err.Error(), "\n")); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMissingFileIsAnError(t *testing.T) {
	_, err := Load("testdata/no-such-file.yaml")
	if err == nil || !strings.Contains(err.Error(), "testdata/no-such-file.yaml") {
		t.Fatalf("err = %v", err)
	}
}

// A null where a mapping belongs is still an error with a place.
func TestNullsArePositioned(t *testing.T) {
	src := `version: 1
targets:
  - name: a
    kind: lambda-reserved-concurrency
    function: f
    min: 1
    max: 10
    signals:
      busy:
    policy:
      autotuner:
`
	_, err := Parse("p.yaml", []byte(src))
	want := []string{
		"p.yaml:9:12: targets[0].signals.busy: must describe a metric",
		"p.yaml:11:17: targets[0].policy.autotuner.utilization: the autotuner policy needs at least one of utilization, backlog, setpoints or throttles",
	}
	if diff := cmp.Diff(want, strings.Split(err.Error(), "\n")); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

// fileLevel are the only messages that may come without a key path.
var fileLevel = regexp.MustCompile(`^(file is empty|file is \d+ bytes|more than one YAML document|the file must be a mapping)`)

func FuzzParse(f *testing.F) {
	for _, name := range []string{"../policies.example.yaml", "testdata/unknown_key.yaml", "testdata/wrong_type.yaml", "testdata/bad_percent.yaml", "testdata/missing_signal.yaml", "testdata/bad_kind.yaml", "testdata/duplicate_target.yaml", "testdata/probe.yaml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(""))
	f.Add([]byte("version: 1\ntargets: []\n---\nx: 1\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("version: 1\ntargets:\n  - {name: a, kind: dynamodb-provisioned, table: t, capacity: read, min: 1, max: 5, signals: {c: {namespace: N, metric: M, stat: Sum}}, policy: {autotuner: ~}}\n"))
	f.Add([]byte(selectFile))
	f.Add([]byte("version: 1\ntargets:\n  - {name: a, kind: apigateway-stage, rest_api: r, stage: s, api_name: n, method: /x/GET, min: 1, max: 5, preset: true, signals: {requests: ~}, policy: {autotuner: {band: 5%, up: ~}}}\n"))
	f.Add([]byte("version: 1\ntargets:\n  - {name: m, kind: stepfunctions-map, state_machine: 'arn:aws:states:us-east-1:123456789012:stateMachine:o', map_state: [P, M], publish: true, alias: live, min: 1, max: 40, signals: {c: {namespace: N, metric: M, stat: Sum}}, policy: {static: {}}}\n"))
	f.Add([]byte("version: 1\ntargets:\n  - {name: p, kind: parameter, table: t, key: {pk: a}, attribute: v, min: 0, max: 9, signals: {c: {namespace: N, metric: M, stat: Sum}}, policy: {static: {}}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// With a selector, entries expand; the invariants below hold.
		sel := &fakeSelector{found: map[Kind][]Selected{LambdaReservedConcurrency: {{Name: "f/x y", Keys: [][2]string{{"function", "f"}}}}}}
		if file, err := ParseWith("f.yaml", data, Options{Selector: sel}); err == nil && file == nil {
			t.Fatal("no error and no file")
		}
		file, err := Parse("f.yaml", data)
		if err == nil {
			if file == nil || len(file.Targets) == 0 && file.Unresolved == 0 {
				t.Fatal("valid without targets")
			}
			for _, tg := range file.Targets {
				if tg.Engine == nil || tg.Engine.Rec == nil {
					t.Fatalf("%s: valid without an engine", tg.Name)
				}
			}
			return
		}
		if file != nil {
			t.Fatal("an error and a File")
		}
		var es Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Fatalf("err = %#v, want Errors", err)
		}
		var node yaml.Node
		syntax := yaml.Unmarshal(data, &node) != nil
		for _, e := range es {
			if e.Line <= 0 || e.Col <= 0 {
				t.Fatalf("error without a position: %q", e.Error())
			}
			if e.Path == "" && !fileLevel.MatchString(e.Msg) && !(syntax && len(es) == 1) {
				t.Fatalf("error without a key path: %q", e.Error())
			}
		}
	})
}

// TestDocsMentionEveryKey reads the keys the loader knows at each place
// from its own "known keys here" messages (testdata/probe.yaml puts an
// unknown key everywhere) and checks that docs/policies.md names each.
func TestDocsMentionEveryKey(t *testing.T) {
	_, err := Load("testdata/probe.yaml")
	if err == nil {
		t.Fatal("the probe must fail")
	}
	known := regexp.MustCompile(`known keys here: ([^)]*)\)`)
	keys := map[string]bool{}
	for _, m := range known.FindAllStringSubmatch(err.Error(), -1) {
		for _, k := range strings.Split(m[1], ", ") {
			keys[k] = true
		}
	}
	for _, p := range PolicyNames {
		keys[p] = true
	}
	if len(keys) < 100 {
		t.Fatalf("only %d keys found; the probe is broken:\n%v", len(keys), err)
	}
	doc, err := os.ReadFile("../docs/policies.md")
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for k := range keys {
		if !strings.Contains(string(doc), "`"+k+"`") {
			missing = append(missing, k)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("docs/policies.md does not mention (as `key`): %s", strings.Join(missing, ", "))
	}
}

// The feed-forward's drain needs a backlog to drain, within 1s–1h, and
// its backlog must name a declared signal.
func TestFeedForwardBacklogErrors(t *testing.T) {
	src := `version: 1
targets:
  - name: t
    kind: dynamodb-provisioned
    table: orders
    capacity: write
    min: 5
    max: 100
    signals:
      consumed: {namespace: AWS/DynamoDB, metric: ConsumedWriteCapacityUnits, dimensions: {TableName: orders}, stat: Sum, per_second: true}
      arrivals: {namespace: AWS/SQS, metric: NumberOfMessagesSent, dimensions: {QueueName: orders}, stat: Sum, per_second: true}
    policy:
      autotuner:
        utilization: {signal: consumed}
        feedforward: {signal: arrivals, drain: 30s}
  - name: u
    kind: dynamodb-provisioned
    table: other
    capacity: write
    min: 5
    max: 100
    signals:
      consumed: {namespace: AWS/DynamoDB, metric: ConsumedWriteCapacityUnits, dimensions: {TableName: other}, stat: Sum, per_second: true}
      arrivals: {namespace: AWS/SQS, metric: NumberOfMessagesSent, dimensions: {QueueName: other}, stat: Sum, per_second: true}
      depth:    {source: sqs, queue_url: "https://sqs.us-east-1.amazonaws.com/123456789012/other"}
    policy:
      autotuner:
        utilization: {signal: consumed}
        feedforward: {signal: arrivals, backlog: depht, drain: 2h}
`
	_, err := Parse("p.yaml", []byte(src))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		"p.yaml:15:48: targets[0].policy.autotuner.feedforward.drain: needs backlog: the signal whose depth is drained",
		"targets[1].policy.autotuner.feedforward.backlog: ",
		"depht",
		"targets[1].policy.autotuner.feedforward.drain: must be between 1s and 1h, got 2h0m0s",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
	// Without utilization nothing could tell that the limit is the
	// bottleneck: the backlog would never count.
	noUtil := strings.Replace(src[:strings.Index(src, "  - name: u")], "        utilization: {signal: consumed}\n", "        throttles: {signal: consumed}\n", 1)
	noUtil = strings.Replace(noUtil, "feedforward: {signal: arrivals, drain: 30s}", "feedforward: {signal: arrivals, backlog: arrivals}", 1)
	_, err = Parse("p.yaml", []byte(noUtil))
	for _, want := range []string{
		"targets[0].policy.autotuner.feedforward.backlog: needs utilization",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
}

// stabilization_max defaults to 1h (or the window itself when that is
// longer), 0 turns the adaptation off, and it is never below the window.
func TestStabilizationMax(t *testing.T) {
	file := func(down string) string {
		return `version: 1
targets:
  - name: f
    kind: lambda-reserved-concurrency
    function: f
    min: 1
    max: 100
    signals:
      busy: {namespace: AWS/Lambda, metric: ConcurrentExecutions, dimensions: {FunctionName: f}, stat: Maximum}
    policy:
      autotuner:
        utilization: {signal: busy}
        down: ` + down + "\n"
	}
	for _, tc := range []struct {
		down     string
		win, max time.Duration
		err      string
	}{
		{down: "{after: 5}", win: 10 * time.Minute, max: time.Hour},
		{down: "{stabilization: 2h}", win: 2 * time.Hour, max: 2 * time.Hour},
		{down: "{stabilization: 5m, stabilization_max: 30m}", win: 5 * time.Minute, max: 30 * time.Minute},
		{down: "{stabilization_max: 0s}", win: 10 * time.Minute, max: 0},
		{down: "{stabilization: 20m, stabilization_max: 15m}", err: "p.yaml:13:55: targets[0].policy.autotuner.down.stabilization_max: must be 0 or at least stabilization (20m0s), got 15m0s"},
		{down: "{stabilization_max: 48h}", err: "down.stabilization_max: must be at most 24h, got 48h0m0s"},
	} {
		f, err := Parse("p.yaml", []byte(file(tc.down)))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err = %v, want %q", tc.down, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.down, err)
			continue
		}
		if g := f.Targets[0].Engine.Guards; g.Stabilization != tc.win || g.StabilizationMax != tc.max {
			t.Errorf("%s: window %v max %v, want %v and %v", tc.down, g.Stabilization, g.StabilizationMax, tc.win, tc.max)
		}
	}
}

// A function behind an API reads the API's limit (source: target) and
// serves everything it admits (feedforward.admitted); a reference to a
// target that is not there, or to itself, and an admitted signal that is
// not a limit, are errors with positions.
func TestAdmittedFeedForward(t *testing.T) {
	src := `version: 1
targets:
  - name: api
    kind: apigateway-usage-plan
    usage_plan: p1
    min: 10
    max: 1000
    signals:
      requests: {namespace: AWS/ApiGateway, metric: Count, dimensions: {ApiName: a, Stage: prod}, stat: Sum, per_second: true}
    policy:
      autotuner:
        utilization: {signal: requests}
  - name: fn
    kind: lambda-reserved-concurrency
    function: orders
    min: 5
    max: 800
    signals:
      busy:      {namespace: AWS/Lambda, metric: ConcurrentExecutions, dimensions: {FunctionName: orders}, stat: Maximum}
      duration:  {namespace: AWS/Lambda, metric: Duration, dimensions: {FunctionName: orders}, stat: Average}
      arrivals:  {namespace: AWS/ApiGateway, metric: Count, dimensions: {ApiName: a, Stage: prod}, stat: Sum, per_second: true}
      api_limit: {source: target, target: api}
    policy:
      autotuner:
        utilization: {signal: busy, target: 70%}
        feedforward: {signal: arrivals, duration: duration, admitted: api_limit}
`
	f, err := Parse("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	fn := f.Target("fn")
	if s := fn.Signals["api_limit"]; s.Source != SourceTarget || s.Target != "api" {
		t.Errorf("api_limit = %+v", s)
	}
	a := fn.Engine.Rec.(*policy.Autotuner)
	want := []policy.Setpoint{
		{Signal: "busy", Target: 0.7, PerLimit: true},
		{Signal: "arrivals", Target: 0.7, PerLimit: true, UpOnly: true, Factor: 1, FactorSignal: "duration", FactorScale: 0.001, Cap: "api_limit", Count: 60},
		{Signal: "api_limit", Target: 1, PerLimit: true, UpOnly: true, Factor: 1, FactorSignal: "duration", FactorScale: 0.001, Floor: true},
	}
	if diff := cmp.Diff(want, a.P.Setpoints); diff != "" {
		t.Errorf("setpoints (-want +got):\n%s", diff)
	}

	bad := strings.Replace(src, "api_limit: {source: target, target: api}", "api_limit: {source: target, target: apii}\n      own:       {source: target, target: fn}\n      other:     {source: target, namespace: AWS/Lambda, missing: zero}", 1)
	bad = strings.Replace(bad, "admitted: api_limit}", "admitted: arrivals}\n        throttles: own", 1)
	_, err = Parse("p.yaml", []byte(bad))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		`p.yaml:22:43: targets[1].signals.api_limit.target: names target "apii", which is not in this file`,
		`p.yaml:23:43: targets[1].signals.own.target: names this target itself; a limit cannot feed itself`,
		`targets[1].signals.other.target: is required`,
		`targets[1].signals.other.namespace: unknown key`,
		`targets[1].signals.other.missing: unknown key`,
		`targets[1].policy.autotuner.throttles: names signal "own", another target's limit (source target), which only feedforward.admitted may use`,
		`targets[1].policy.autotuner.feedforward.admitted: names signal "arrivals", which must be of source target`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}

	// On a function, serving a rate takes its duration.
	noDur := strings.Replace(src, "feedforward: {signal: arrivals, duration: duration, admitted: api_limit}", "feedforward: {signal: arrivals, admitted: api_limit}", 1)
	if _, err := Parse("p.yaml", []byte(noDur)); err == nil || !strings.Contains(err.Error(), "targets[1].policy.autotuner.feedforward.admitted: needs duration on a function") {
		t.Errorf("admitted without duration: %v", err)
	}

	// The rate a door admits comes from an API Gateway rate limit, not
	// from a function or a burst.
	burst := strings.Replace(src, "    usage_plan: p1\n", "    usage_plan: p1\n    limit: burst\n", 1)
	if _, err := Parse("p.yaml", []byte(burst)); err == nil || !strings.Contains(err.Error(), `targets[1].signals.api_limit.target: names target "api" (usage plan p1 burst); the rate a front door admits is read from an API Gateway rate limit`) {
		t.Errorf("a burst upstream: %v", err)
	}
}
