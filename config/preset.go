package config

import (
	"fmt"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// A preset is what a kind implies: the CloudWatch signals that describe
// that service's load and throttling, and a default policy that reads
// them. A target that declares no signals gets its kind's preset; one
// that says `preset: true` gets it too, with its own signals replacing the
// preset's by name. The preset is expanded into the target's YAML before
// the target is read, so the controller only ever sees ordinary targets,
// and `autotuner explain` prints the expansion.
type preset struct {
	Kind Kind
	// Needs are the keys whose values name the preset's metrics.
	Needs []string
	// Signals lists the preset's signals for one target's keys.
	Signals func(k presetKeys) []presetSignal
	// Policy is the default policy, by signal name only.
	Policy string
	// Why says, for docs and explain, why these signals and this policy.
	Why string
}

// presetKeys are a target's scalar keys, as written.
type presetKeys map[string]string

// presetSignal is one CloudWatch signal of a preset.
type presetSignal struct {
	Name, Namespace, Metric, Stat string
	Dims                          [][2]string // ordered, so the expansion reads the same every time
	Missing                       Missing
	PerSecond                     bool
	Delay                         string // a metric published late (EMF from the callers), e.g. "1m"
}

// Metric names and dimensions below follow the service pages:
// Lambda https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html
// Step Functions https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html
// SQS https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html
// API Gateway https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html
// HTTP APIs https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-metrics.html
// DynamoDB https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html
var presets = []preset{
	{
		Kind:  LambdaReservedConcurrency,
		Needs: []string{"function"},
		Signals: func(k presetKeys) []presetSignal {
			fn := [][2]string{{"FunctionName", k["function"]}}
			return []presetSignal{
				{Name: "busy", Namespace: "AWS/Lambda", Metric: "ConcurrentExecutions", Stat: "Maximum", Dims: fn},
				{Name: "throttles", Namespace: "AWS/Lambda", Metric: "Throttles", Stat: "Sum", Dims: fn, Missing: MissingZero},
				{Name: "invocations", Namespace: "AWS/Lambda", Metric: "Invocations", Stat: "Sum", Dims: fn, Missing: MissingZero},
			}
		},
		Policy: `autotuner:
  utilization: {signal: busy, target: 70%}
  throttles: {signal: throttles, requests: invocations}
`,
		Why: "peak concurrency against the reservation; throttled invocations size the step up",
	},
	{
		Kind:  LambdaSQSMaxConcurrency,
		Needs: []string{"function", "queue"},
		Signals: func(k presetKeys) []presetSignal {
			q := [][2]string{{"QueueName", k["queue"]}}
			return []presetSignal{
				{Name: "busy", Namespace: "AWS/Lambda", Metric: "ConcurrentExecutions", Stat: "Maximum", Dims: [][2]string{{"FunctionName", k["function"]}}},
				{Name: "backlog", Namespace: "AWS/SQS", Metric: "ApproximateAgeOfOldestMessage", Stat: "Maximum", Dims: q},
			}
		},
		Policy: `autotuner:
  utilization: {signal: busy, target: 70%}
  backlog: {signal: backlog, target: 60s}
`,
		Why: "the function's peak concurrency against the mapping's maximum; a queue whose oldest message waits past 60s pushes up",
	},
	{
		Kind:    APIGatewayUsagePlan,
		Needs:   []string{"api_name"},
		Signals: apiSignals,
		Policy:  apiPolicy,
		Why:     "requests per second against the rate limit; 4XX errors, which include the 429s of throttling, push up",
	},
	{
		Kind:    APIGatewayStage,
		Needs:   []string{"api_name", "stage"},
		Signals: apiSignals,
		Policy:  apiPolicy,
		Why:     "requests per second against the rate limit; 4XX errors, which include the 429s of throttling, push up",
	},
	{
		Kind:    APIGatewayV2Stage,
		Needs:   []string{"api_id", "stage"},
		Signals: httpAPISignals,
		Policy:  apiPolicy,
		Why:     "requests per second against the rate limit; 4xx errors, which include the 429s of throttling, push up",
	},
	{
		Kind:    DynamoDBProvisioned,
		Needs:   []string{"table", "capacity"},
		Signals: tableSignals("ThrottleEvents"),
		Policy:  tablePolicy,
		Why:     "consumed units per second against the provisioned capacity; throttle events push up; decreases are paced over the day",
	},
	{
		Kind:    DynamoDBOnDemandMax,
		Needs:   []string{"table", "capacity"},
		Signals: tableSignals("MaxOnDemandThroughputThrottleEvents"),
		Policy:  tablePolicy,
		Why:     "consumed units per second against the maximum; requests throttled by the maximum itself push up",
	},
	{
		// The Map's load is the Lambda its items invoke: no AWS/States
		// metric counts running iterations.
		Kind:  StepFunctionsMap,
		Needs: []string{"function"},
		Signals: func(k presetKeys) []presetSignal {
			fn := [][2]string{{"FunctionName", k["function"]}}
			return []presetSignal{
				{Name: "busy", Namespace: "AWS/Lambda", Metric: "ConcurrentExecutions", Stat: "Maximum", Dims: fn},
				{Name: "executions_failed", Namespace: "AWS/States", Metric: "ExecutionsFailed", Stat: "Sum", Dims: [][2]string{{"StateMachineArn", k["state_machine"]}}, Missing: MissingZero},
			}
		},
		Policy: mapPolicy,
		Why:    "the Lambda the items invoke, busy against the Map's fan-out; a change reaches only executions started after it, so each increase waits 3 minutes to show; failed executions are there for a guard",
	},
	{
		// What the limiter itself publishes (ratelimit.MetricNamespace),
		// from the callers' EMF at the end of each minute.
		Kind:  RateLimitBucket,
		Needs: []string{"bucket"},
		Signals: func(k presetKeys) []presetSignal {
			b := [][2]string{{"Bucket", k["bucket"]}}
			return []presetSignal{
				{Name: "acquired", Namespace: "Autotuner/RateLimit", Metric: "Acquired", Stat: "Sum", Dims: b, PerSecond: true, Delay: "1m"},
				{Name: "denied", Namespace: "Autotuner/RateLimit", Metric: "Denied", Stat: "Sum", Dims: b, PerSecond: true, Missing: MissingZero, Delay: "1m"},
				{Name: "waits", Namespace: "Autotuner/RateLimit", Metric: "WaitSeconds", Stat: "p90", Dims: b, Delay: "1m"},
			}
		},
		Policy: bucketPolicy,
		Why:    "tokens granted against the rate; denials and long waits push up, 10% at a time, since a denial measures demand, not what the protected service can take; add guards on that service's health",
	},
}

// The Map's policy waits for new executions to show a change.
const mapPolicy = `autotuner:
  utilization: {signal: busy, target: 70%}
  up: {max_step: 50%, cooldown: 3m}
`

// The bucket's policy: denials carry no measured share of what the
// protected service takes, so increases probe by 10%.
const bucketPolicy = `autotuner:
  utilization: {signal: acquired, target: 90%}
  throttles: denied
  backlog: {signal: waits, target: 2s}
  up: {max_step: 10%, cooldown: 2m}
`

// The API policy opens the door no faster than doubling per minute: the
// simulator's bake-off showed a faster front door moves overload onto
// what stands behind it (sim/policies/api-lambda-dynamodb.yaml).
const apiPolicy = `autotuner:
  utilization: {signal: requests, target: 70%}
  throttles: errors_4xx
  up: {max_step: 100%, cooldown: 1m}
`

const tablePolicy = `autotuner:
  utilization: {signal: consumed, target: 70%}
  throttles: throttled
`

func apiSignals(k presetKeys) []presetSignal {
	dims := [][2]string{{"ApiName", k["api_name"]}}
	if k["stage"] != "" {
		dims = append(dims, [2]string{"Stage", k["stage"]})
	}
	if m := k["method"]; m != "" && m != "/*/*" {
		// Per-method figures exist only with the stage's detailed
		// metrics turned on.
		i := strings.LastIndex(m, "/")
		dims = append(dims, [2]string{"Resource", m[:i]}, [2]string{"Method", m[i+1:]})
	}
	return []presetSignal{
		// Traffic: a late minute holds, it never reads as no traffic.
		{Name: "requests", Namespace: "AWS/ApiGateway", Metric: "Count", Stat: "Sum", Dims: dims, PerSecond: true},
		{Name: "errors_4xx", Namespace: "AWS/ApiGateway", Metric: "4XXError", Stat: "Sum", Dims: dims, Missing: MissingZero},
	}
}

func tableSignals(throttle string) func(k presetKeys) []presetSignal {
	return func(k presetKeys) []presetSignal {
		dims := [][2]string{{"TableName", k["table"]}}
		if k["index"] != "" {
			dims = append(dims, [2]string{"GlobalSecondaryIndexName", k["index"]})
		}
		rw := "Read"
		if k["capacity"] == "write" {
			rw = "Write"
		}
		return []presetSignal{
			{Name: "consumed", Namespace: "AWS/DynamoDB", Metric: "Consumed" + rw + "CapacityUnits", Stat: "Sum", Dims: dims, PerSecond: true},
			{Name: "throttled", Namespace: "AWS/DynamoDB", Metric: rw + throttle, Stat: "Sum", Dims: dims, Missing: MissingZero},
		}
	}
}

func presetOf(k Kind) *preset {
	for i := range presets {
		if presets[i].Kind == k {
			return &presets[i]
		}
	}
	return nil
}

// expandPreset returns target node n with its kind's preset merged in, or
// n itself when no preset applies. Nodes the preset adds have no position,
// so errors about them are placed on the target.
func (d *decoder) expandPreset(n *yaml.Node, path string) *yaml.Node {
	m := resolve(n)
	if m == nil || m.Kind != yaml.MappingNode {
		return n
	}
	keys := scalarKeys(m)
	p := presetOf(Kind(keys["kind"]))
	sigs := mappingValue(m, "signals")
	on := sigs == nil
	if v, ok := keys["preset"]; ok {
		on = v == "true"
	}
	if p == nil || !on {
		return n
	}
	var missing []string
	for _, k := range p.Needs {
		if keys[k] == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		d.errorf(n, path, "kind %s fills in its signals from %s, which must be set (or declare signals yourself)", p.Kind, strings.Join(missing, " and "))
		return n
	}
	if keys["limit"] == "burst" {
		d.errorf(n, path, "kind %s has no preset for limit burst (the burst follows the rate through burst_ratio); declare signals and policy yourself", p.Kind)
		return n
	}
	out := *m
	out.Content = nil
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		seen[k.Value] = true
		switch k.Value {
		case "signals":
			v = mergeSignals(presetSignals(p.Signals(keys)), v)
		case "policy":
			v = mergePolicy(presetPolicy(p), v)
		}
		out.Content = append(out.Content, k, v)
	}
	if !seen["signals"] {
		out.Content = append(out.Content, scalar("signals"), presetSignals(p.Signals(keys)))
	}
	if !seen["policy"] {
		out.Content = append(out.Content, scalar("policy"), presetPolicy(p))
	}
	return &out
}

// scalarKeys are the scalar values of mapping m, by key.
func scalarKeys(m *yaml.Node) presetKeys {
	out := presetKeys{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if v := resolve(m.Content[i+1]); v != nil && v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
			out[m.Content[i].Value] = v.Value
		}
	}
	return out
}

func mappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			if v := resolve(m.Content[i+1]); v != nil && !(v.Kind == yaml.ScalarNode && v.Tag == "!!null") {
				return v
			}
		}
	}
	return nil
}

func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }

func presetSignals(ps []presetSignal) *yaml.Node {
	out := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, s := range ps {
		sig := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle}
		add := func(k string, v *yaml.Node) { sig.Content = append(sig.Content, scalar(k), v) }
		add("namespace", scalar(s.Namespace))
		add("metric", scalar(s.Metric))
		dims := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle}
		for _, d := range s.Dims {
			dims.Content = append(dims.Content, scalar(d[0]), scalar(d[1]))
		}
		add("dimensions", dims)
		add("stat", scalar(s.Stat))
		if s.PerSecond {
			add("per_second", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
		}
		if s.Missing != "" {
			add("missing", scalar(string(s.Missing)))
		}
		if s.Delay != "" {
			add("delay", scalar(s.Delay))
		}
		out.Content = append(out.Content, scalar(s.Name), sig)
	}
	return out
}

// mergeSignals lays the user's signals over the preset's: a signal of
// the same name is replaced whole, a new one is added after.
func mergeSignals(base, user *yaml.Node) *yaml.Node {
	if isNull(user) {
		return base // `signals:` with nothing under it keeps the preset's
	}
	u := resolve(user)
	if u == nil || u.Kind != yaml.MappingNode {
		return user // not a mapping: let the reader report it
	}
	out := *u
	out.Content = nil
	over := map[string]*yaml.Node{}
	for i := 0; i+1 < len(u.Content); i += 2 {
		over[u.Content[i].Value] = u.Content[i+1]
	}
	for i := 0; i+1 < len(base.Content); i += 2 {
		k := base.Content[i].Value
		if v, ok := over[k]; ok {
			if isNull(v) {
				delete(over, k) // `name: null` drops a preset signal
				continue
			}
			out.Content = append(out.Content, u.Content[indexOf(u, k)], v)
			delete(over, k)
			continue
		}
		out.Content = append(out.Content, base.Content[i], base.Content[i+1])
	}
	for i := 0; i+1 < len(u.Content); i += 2 {
		if _, ok := over[u.Content[i].Value]; ok && !isNull(u.Content[i+1]) {
			out.Content = append(out.Content, u.Content[i], u.Content[i+1])
		}
	}
	return &out
}

func indexOf(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return i
		}
	}
	return -1
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// presetPolicies are the presets' policies, parsed once: a selector may
// expand thousands of targets from one preset.
var presetPolicies sync.Map // Kind → *yaml.Node

func presetPolicy(p *preset) *yaml.Node {
	if n, ok := presetPolicies.Load(p.Kind); ok {
		return deepCopy(n.(*yaml.Node))
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(p.Policy), &doc); err != nil {
		panic(fmt.Sprintf("preset %s: %v", p.Kind, err)) // a build error, caught by every test
	}
	clearPositions(doc.Content[0])
	presetPolicies.Store(p.Kind, doc.Content[0])
	return deepCopy(doc.Content[0])
}

// deepCopy copies a node tree, so that a merge never edits the cache.
func deepCopy(n *yaml.Node) *yaml.Node {
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, k := range n.Content {
		c.Content[i] = deepCopy(k)
	}
	return &c
}

// clearPositions makes a preset's nodes positionless, so that an error
// about one is placed on the target that asked for the preset.
func clearPositions(n *yaml.Node) {
	n.Line, n.Column = 0, 0
	for _, c := range n.Content {
		clearPositions(c)
	}
}

// mergePolicy lays the user's policy over the preset's. The same policy
// merges key by key (a key set to null removes the preset's); another
// policy replaces the preset's whole.
func mergePolicy(base, user *yaml.Node) *yaml.Node {
	if isNull(user) {
		return base
	}
	u := resolve(user)
	if u == nil || u.Kind != yaml.MappingNode || len(u.Content) != 2 || u.Content[0].Value != base.Content[0].Value {
		return user
	}
	ub := resolve(u.Content[1])
	if isNull(ub) {
		out := *u
		out.Content = []*yaml.Node{u.Content[0], base.Content[1]}
		return &out
	}
	if ub.Kind != yaml.MappingNode {
		return user
	}
	body := mergeSignals(base.Content[1], ub) // same rule: by key, null removes
	body.Style = 0
	out := *u
	out.Content = []*yaml.Node{u.Content[0], body}
	return &out
}
