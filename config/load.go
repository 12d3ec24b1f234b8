package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Load reads and validates a policies file. On any problem it returns
// Errors listing every one, and no File: an invalid file is never half used.
func Load(path string) (*File, error) { return load(path, Options{}) }

func load(path string, o Options) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, Errors{{File: path, Msg: err.Error()}}
	}
	return ParseWith(path, b, o)
}

// maxFileSize keeps a hostile or mistaken input from exhausting memory.
const maxFileSize = 4 << 20

// Parse validates a policies file held in memory; name is used in messages.
func Parse(name string, data []byte) (*File, error) { return ParseWith(name, data, Options{}) }

// ParseWith is Parse with options: a Selector expands selector entries.
func ParseWith(name string, data []byte, opt Options) (*File, error) {
	d := &decoder{file: name, selector: opt.Selector, ctx: opt.Context}
	if d.ctx == nil {
		d.ctx = context.Background()
	}
	if len(data) > maxFileSize {
		return nil, Errors{{File: name, Line: 1, Col: 1, Msg: fmt.Sprintf("file is %d bytes; the limit is %d", len(data), maxFileSize)}}
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Errors{{File: name, Line: 1, Col: 1, Msg: "file is empty"}}
		}
		return nil, Errors{yamlError(name, err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, Errors{{File: name, Line: extra.Line, Col: extra.Column, Msg: "more than one YAML document; put everything in one"}}
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		doc = doc.Content[0]
	}
	f := d.file_(doc)
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	f.Path = name
	return f, nil
}

var yamlLine = regexp.MustCompile(`line (\d+)(?:, column (\d+))?: (.*)`)

// yamlError turns a syntax error into an Error with a position.
func yamlError(name string, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := &Error{File: name, Msg: msg}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		fmt.Sscan(m[1], &e.Line)
		e.Col = 1
		if m[2] != "" {
			fmt.Sscan(m[2], &e.Col)
		}
		e.Msg = m[3]
	} else {
		e.Line, e.Col = 1, 1
	}
	return e
}

func (d *decoder) file_(n *yaml.Node) *File {
	f := &File{}
	d.near = n
	if rn := resolve(n); rn == nil || rn.Kind != yaml.MappingNode {
		got := "nothing"
		if rn != nil {
			got = kindName(rn)
		}
		d.errorf(n, "", "the file must be a mapping with version, defaults and targets, got %s", got)
		return f
	}
	o := d.obj(n, "")
	if o.get("version") == nil { // absent or null
		o.check(false, "version", "is required (version: 1)")
	} else if o.integer("version", &f.Version) && f.Version != Version {
		o.check(false, "version", "must be %d, got %d", Version, f.Version)
	}
	f.Defaults = d.defaults(o.get("defaults"), "defaults")
	items := o.list("targets")
	switch tn := o.get("targets"); {
	case tn == nil:
		o.check(false, "targets", "is required: list the limits to tune")
	case tn.Kind == yaml.SequenceNode && len(items) == 0:
		o.check(false, "targets", "must list at least one target")
	}
	names := map[string]int{}
	resources := map[string]claim{}
	for i, item := range items {
		path := fmt.Sprintf("targets[%d]", i)
		nodes, selector := d.expandSelect(item, path, &f.Defaults)
		if !selector {
			nodes = []*yaml.Node{item}
		} else {
			f.Selectors++
		}
		for _, n := range nodes {
			t := d.targetIn(n, path, &f.Defaults, selector)
			if t == nil {
				continue
			}
			if prev, dup := names[t.Name]; dup && t.Name != "" {
				d.errorf(valueOf(item, "name"), path+".name", "duplicate target name %q (also targets[%d])", t.Name, prev)
			}
			names[t.Name] = i
			d.claim(resources, t, n, path)
			f.Targets = append(f.Targets, t)
		}
	}
	for _, tp := range d.templates {
		// A selector entry with nothing to select from is still checked
		// whole, on a stand-in resource, and yields no target.
		d.targetIn(tp.node, tp.path, &f.Defaults, true)
	}
	f.Unresolved = d.unresolved
	f.Selections = d.selections
	d.sharedParameters(f.Targets)
	for _, r := range d.targetRefs {
		owner, _, _ := strings.Cut(r.path, ".signals")
		i, ok := names[r.target]
		var up *Target
		for _, t := range f.Targets {
			if t.Name == r.target {
				up = t
			}
		}
		switch {
		case !ok || up == nil:
			d.errorf(r.node, r.path, "names target %q, which is not in this file", r.target)
		case fmt.Sprintf("targets[%d]", i) == owner:
			d.errorf(r.node, r.path, "names this target itself; a limit cannot feed itself")
		case !up.Kind.APIGateway() && up.Kind != RateLimitBucket || up.Limit == "burst":
			d.errorf(r.node, r.path, "names target %q (%s); the rate a front door admits is read from an API Gateway rate limit (apigateway-usage-plan, apigateway-stage or apigatewayv2-stage, limit rate) or a ratelimit-bucket", r.target, up.Identity())
		}
	}
	d.globalShares(f)
	o.done()
	return f
}

// claim is the target that controls a resource, and where it is.
type claim struct {
	path, pos, name string
}

// claim records that t controls its resource: one resource, one target.
// Two targets on one knob would fight each other every tick, so an
// overlap is an error that names both places.
func (d *decoder) claim(resources map[string]claim, t *Target, n *yaml.Node, path string) {
	if t.Kind == "" {
		return
	}
	key := t.Region + "|" + t.RoleARN + "|" + string(t.Kind) + "|" + t.Identity()
	here := claim{path: path, pos: fmt.Sprintf("%s:%d:%d", d.file, n.Line, n.Column), name: t.Name}
	if prev, dup := resources[key]; dup {
		d.errorf(n, path, "target %s controls the same resource (%s) as target %s of %s at %s: two targets on one knob would fight", t.Name, t.Identity(), prev.name, prev.path, prev.pos)
		return
	}
	resources[key] = here
}

// valueOf is the value node of key in mapping n, or n itself, so that an
// error points at the offending value.
func valueOf(n *yaml.Node, key string) *yaml.Node {
	if m := resolve(n); m != nil && m.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == key {
				return m.Content[i+1]
			}
		}
	}
	return n
}

func (d *decoder) defaults(n *yaml.Node, path string) Defaults {
	def := Defaults{Interval: time.Minute, MetricDelay: 2 * time.Minute, Period: time.Minute, DiscoverEvery: 10 * time.Minute, Probation: DefaultProbation, ForgetAfter: DefaultForgetAfter}
	o := d.obj(n, path)
	if o.duration("interval", &def.Interval) {
		o.check(def.Interval >= 10*time.Second && def.Interval <= 24*time.Hour, "interval", "must be between 10s and 24h, got %s", def.Interval)
	}
	o.schedule("schedule", &def.Schedule)
	if o.duration("metric_delay", &def.MetricDelay) {
		o.check(def.MetricDelay >= 0 && def.MetricDelay <= time.Hour, "metric_delay", "must be between 0s and 1h, got %s", def.MetricDelay)
	}
	if o.duration("period", &def.Period) {
		o.check(validPeriod(def.Period), "period", "must be 1s, 5s, 10s, 30s or a multiple of 60s, got %s", def.Period)
	}
	o.boolean("allow_unknown_regions", &def.AllowUnknownRegions)
	if o.str("region", &def.Region) {
		o.checkRegion("region", def.Region, def.AllowUnknownRegions)
	}
	o.boolean("dry_run", &def.DryRun)
	if o.duration("discover_every", &def.DiscoverEvery) {
		o.check(def.DiscoverEvery >= time.Minute && def.DiscoverEvery <= 24*time.Hour, "discover_every", "must be between 1m and 24h, got %s", def.DiscoverEvery)
	}
	if o.duration("probation", &def.Probation) {
		o.check(def.Probation >= 0 && def.Probation <= 30*24*time.Hour, "probation", "must be between 0s and 30d, got %s", def.Probation)
	}
	if o.duration("forget_after", &def.ForgetAfter) {
		o.check(def.ForgetAfter >= time.Hour && def.ForgetAfter <= 365*24*time.Hour, "forget_after", "must be between 1h and 365d, got %s", def.ForgetAfter)
	}
	o.done()
	return def
}

var (
	regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
	nameRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`)
	roleRE   = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$`)
	statRE   = regexp.MustCompile(`^(Sum|Average|Minimum|Maximum|SampleCount|IQM|(p|tm|wm|tc|ts)\d{1,2}(\.\d+)?|(TM|WM|TC|TS|PR)\(.+\))$`)
	idRE     = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

func validPeriod(p time.Duration) bool {
	switch p {
	case time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second:
		return true
	}
	return p >= time.Minute && p%time.Minute == 0 && p <= 24*time.Hour
}

func (d *decoder) target(n *yaml.Node, path string, def *Defaults) *Target {
	return d.targetIn(n, path, def, false)
}

// targetIn reads one target; selected says it comes from a selector
// entry, whose name is ENTRY/RESOURCE and which may say probation.
func (d *decoder) targetIn(n *yaml.Node, path string, def *Defaults, selected bool) *Target {
	n = d.expandPreset(n, path)
	o := d.obj(n, path)
	if rn := resolve(n); rn == nil || rn.Kind != yaml.MappingNode {
		if rn == nil || rn.Kind == yaml.ScalarNode && rn.Tag == "!!null" {
			d.errorf(n, path, "is empty: a target needs name, kind, min, max, signals and policy")
		}
		return nil
	}
	outer := d.near
	d.near = n
	defer func() { d.near = outer }()
	t := &Target{Line: n.Line, Col: n.Column, Region: def.Region, DryRun: def.DryRun, source: n}
	if o.str("name", &t.Name) {
		entry, resource, _ := strings.Cut(t.Name, "/")
		if !selected {
			entry, resource = t.Name, "x"
		}
		o.check(nameRE.MatchString(entry) && resource != "" && len(t.Name) <= 255, "name", "must be 1-128 letters, digits, '_', '.', ':' or '-', got %q", entry)
	} else {
		o.check(false, "name", "is required")
	}
	var kind string
	if o.str("kind", &kind) {
		t.Kind = Kind(kind)
		known := false
		for _, k := range Kinds {
			known = known || k == t.Kind
		}
		if !known {
			names := make([]string, len(Kinds))
			for i, k := range Kinds {
				names[i] = string(k)
			}
			o.check(false, "kind", "unknown kind %q (one of %s)", kind, strings.Join(names, ", "))
		}
	} else {
		o.check(false, "kind", "is required (one of lambda-reserved-concurrency, lambda-sqs-max-concurrency, apigateway-usage-plan, apigateway-stage, apigatewayv2-stage, dynamodb-provisioned, dynamodb-on-demand-max, stepfunctions-map, parameter, ratelimit-bucket)")
	}
	d.identity(o, t)
	var usePreset bool
	if o.boolean("preset", &usePreset) && usePreset && t.Kind != "" {
		o.check(presetOf(t.Kind) != nil, "preset", "kind %s has no preset", t.Kind)
	}
	if o.str("region", &t.Region) {
		o.checkRegion("region", t.Region, def.AllowUnknownRegions)
	}
	if o.str("role_arn", &t.RoleARN) {
		o.check(roleRE.MatchString(t.RoleARN), "role_arn", "must be an IAM role ARN (arn:aws:iam::123456789012:role/name), got %q", t.RoleARN)
	}
	hasMin := o.number("min", &t.Min)
	hasMax := o.number("max", &t.Max)
	o.check(hasMin || o.vals["min"] != nil, "min", "is required")
	o.check(hasMax || o.vals["max"] != nil, "max", "is required")
	o.boolean("allow_zero", &t.AllowZero)
	o.boolean("dry_run", &t.DryRun)
	o.boolean("coexist_with_autoscaling", &t.CoexistWithAutoscaling)
	if selected {
		t.Entry, _, _ = strings.Cut(t.Name, "/")
		t.Probation = def.Probation
		if o.duration("probation", &t.Probation) {
			o.check(t.Probation >= 0 && t.Probation <= 30*24*time.Hour, "probation", "must be between 0s and 30d, got %s", t.Probation)
		}
	} else if o.has("probation") {
		o.get("probation")
		o.check(false, "probation", "only applies to an entry with select: a resource new to the selection runs in dry-run this long")
	}
	t.Alarms = o.strings("alarms")
	o.schedule("schedule", &t.Schedule)
	if hasMin && hasMax {
		d.checkBounds(o, t)
	}

	t.Signals = map[string]*Signal{}
	sigs := o.get("signals")
	so := d.obj(sigs, o.at("signals"))
	for _, name := range so.keys {
		sp := so.at(name)
		if !idRE.MatchString(name) {
			d.errorf(so.knodes[name], sp, "signal names must be lower-case letters, digits and '_', starting with a letter")
		}
		so.get(name)
		s := d.signal(so.vals[name], sp, name, def)
		t.Signals[name] = s
		t.SignalList = append(t.SignalList, s)
	}
	if sigs == nil {
		o.check(false, "signals", "is required: name at least one signal")
	}

	pc := &policyCtx{d: d, t: t}
	pc.policy(o.get("policy"), o.at("policy"), o.node)
	pc.guards(o.list("guards"), o.at("guards"))
	pc.decreases(o.get("decreases"), o.at("decreases"))
	var bypass bool
	if o.boolean("alarm_bypasses_cooldown", &bypass) && t.Engine != nil {
		t.Engine.Guards.AlarmBypassesCooldown = bypass
	}
	if t.Engine != nil {
		t.Engine.Guards.AllowZero = t.AllowZero
		t.Engine.Guards.Resolution = t.Resolution()
	}
	o.done()
	return t
}

// identity reads the keys that name the resource, which depend on kind.
func (d *decoder) identity(o *obj, t *Target) {
	need := func(key string, dst *string) {
		if !o.str(key, dst) || *dst == "" {
			o.check(false, key, "is required for kind %s", t.Kind)
		}
	}
	switch t.Kind {
	case LambdaReservedConcurrency:
		need("function", &t.Function)
	case LambdaSQSMaxConcurrency:
		need("event_source_mapping", &t.EventSourceMapping)
		// The function and queue behind the mapping name its metrics.
		o.str("function", &t.Function)
		o.str("queue", &t.Queue)
	case APIGatewayUsagePlan:
		need("usage_plan", &t.UsagePlan)
		o.str("api_name", &t.APIName) // names the metrics of the API behind the plan
		o.str("stage", &t.Stage)
		o.str("api_stage", &t.APIStage)
		o.str("method", &t.Method)
		if (t.APIStage == "") != (t.Method == "") {
			o.check(false, "method", "api_stage and method go together: both for a per-method throttle, neither for the whole plan")
		}
		if t.Method != "" {
			o.check(methodRE.MatchString(t.Method), "method", "must look like /resource/GET or /*/*, got %q", t.Method)
		}
		if t.APIStage != "" {
			o.check(strings.Count(t.APIStage, ":") == 1 && !strings.HasPrefix(t.APIStage, ":") && !strings.HasSuffix(t.APIStage, ":"), "api_stage", "must be apiId:stage, got %q", t.APIStage)
		}
		d.apiLimit(o, t)
	case APIGatewayStage:
		need("rest_api", &t.RestAPI)
		need("stage", &t.Stage)
		o.str("api_name", &t.APIName)
		t.Method = "/*/*"
		if o.str("method", &t.Method) {
			o.check(methodRE.MatchString(t.Method), "method", "must look like /resource/GET or /*/*, got %q", t.Method)
		}
		d.apiLimit(o, t)
	case APIGatewayV2Stage:
		d.httpStageIdentity(o, t, need)
	case DynamoDBProvisioned, DynamoDBOnDemandMax:
		need("table", &t.Table)
		o.str("index", &t.Index)
		if o.str("capacity", &t.Capacity) {
			o.check(t.Capacity == "read" || t.Capacity == "write", "capacity", "must be read or write, got %q", t.Capacity)
		} else {
			o.check(false, "capacity", "is required for kind %s: read or write", t.Kind)
		}
	case StepFunctionsMap:
		d.stepFunctionsIdentity(o, t)
	case Parameter:
		d.parameterIdentity(o, t, "")
	case RateLimitBucket:
		d.bucketIdentity(o, t, need)
	default:
		// An unknown or missing kind is reported once; its identity keys
		// cannot be checked, and are not "unknown keys" on top of it.
		for _, k := range identityKeys {
			o.get(k)
		}
	}
}

// identityKeys are every kind's resource keys.
var identityKeys = []string{"function", "queue", "api_name", "event_source_mapping", "usage_plan", "api_stage", "rest_api", "api_id", "stage", "method", "route", "limit", "burst_ratio", "table", "index", "capacity",
	"state_machine", "map_state", "mode", "publish", "alias", "ssm_parameter", "key", "attribute", "bucket", "executions", "transitions_per_second"}

var methodRE = regexp.MustCompile(`^/(\*|[^\s]*)/(\*|GET|PUT|POST|DELETE|PATCH|HEAD|OPTIONS|ANY)$`)

func (d *decoder) apiLimit(o *obj, t *Target) {
	t.Limit = "rate"
	if o.str("limit", &t.Limit) {
		o.check(t.Limit == "rate" || t.Limit == "burst", "limit", "must be rate or burst, got %q", t.Limit)
	}
	t.BurstRatio = 2
	if o.number("burst_ratio", &t.BurstRatio) {
		o.check(t.BurstRatio == 0 || t.BurstRatio >= 1 && t.BurstRatio <= 100, "burst_ratio", "must be 0 (leave the burst alone) or between 1 and 100, got %v", t.BurstRatio)
		o.check(t.Limit != "burst", "burst_ratio", "only applies when limit is rate")
	}
}

// Service maximums that bounds may never exceed.
const (
	maxLambdaConcurrency = 100000 // far above any account; the account floor is enforced live
	maxDynamoDBCapacity  = 40000
	maxAPIRate           = 10000
	maxAPIBurst          = 5000
)

func (d *decoder) checkBounds(o *obj, t *Target) {
	o.check(t.Min >= 0, "min", "must be >= 0, got %v", t.Min)
	o.check(t.Max >= t.Min, "max", "must be >= min (%v), got %v", t.Min, t.Max)
	if r := t.Resolution(); t.Max < r {
		o.check(false, "max", "must be at least %v, the smallest value kind %s can take, got %v", r, t.Kind, t.Max)
	}
	whole := t.Resolution() == 1
	if whole {
		o.check(t.Min == float64(int64(t.Min)), "min", "must be a whole number for kind %s, got %v", t.Kind, t.Min)
		o.check(t.Max == float64(int64(t.Max)), "max", "must be a whole number for kind %s, got %v", t.Kind, t.Max)
	}
	switch t.Kind {
	case LambdaReservedConcurrency:
		o.check(t.Min > 0 || t.AllowZero, "min", "must be >= 1: a reservation of 0 stops the function (set allow_zero: true to permit it)")
		o.check(t.Max <= maxLambdaConcurrency, "max", "must be <= %d, got %v", maxLambdaConcurrency, t.Max)
	case LambdaSQSMaxConcurrency:
		o.check(t.Min >= 2, "min", "must be >= 2 (the event source mapping's MaximumConcurrency range is 2-1000), got %v", t.Min)
		o.check(t.Max <= 1000, "max", "must be <= 1000 (the event source mapping's MaximumConcurrency range is 2-1000), got %v", t.Max)
	case DynamoDBProvisioned, DynamoDBOnDemandMax:
		o.check(t.Min >= 1, "min", "must be >= 1 capacity unit, got %v", t.Min)
		o.check(t.Max <= maxDynamoDBCapacity, "max", "must be <= %d (the default per-table maximum), got %v", maxDynamoDBCapacity, t.Max)
	case StepFunctionsMap, Parameter:
		checkParameterBounds(o, t)
	case RateLimitBucket:
		checkBucketBounds(o, t)
	case APIGatewayUsagePlan, APIGatewayStage, APIGatewayV2Stage:
		lim := float64(maxAPIRate)
		if t.Limit == "burst" {
			lim = maxAPIBurst
		}
		o.check(t.Max <= lim, "max", "must be <= %v (the account's API Gateway %s limit), got %v", lim, t.limitName(), t.Max)
	}
	if t.AllowZero {
		o.check(t.Kind == LambdaReservedConcurrency, "allow_zero", "only applies to lambda-reserved-concurrency")
	}
}
