package config

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MapMode says how a stepfunctions-map target sets its Map state's
// concurrency.
type MapMode string

const (
	// MapModeDefinition edits MaxConcurrency in the state machine's
	// definition (UpdateStateMachine).
	MapModeDefinition MapMode = "definition"
	// MapModeParameter publishes the value where the workflow reads it
	// when it starts (MaxConcurrencyPath fed by an SSM parameter or a
	// DynamoDB item).
	MapModeParameter MapMode = "parameter"
)

// StepFunctions names one Map state of a state machine.
type StepFunctions struct {
	StateMachine string   // the state machine's ARN
	MapState     []string // state names from the top: through Parallel and Map states to the Map
	Mode         MapMode
	// Publish makes each change a new published version and moves Alias
	// to it, so executions started through the alias see it.
	Publish bool
	Alias   string
	// Executions is the most executions running this Map at once (1 by
	// default): the account's quotas are shared by all of them.
	Executions int
	// TransitionsPerSecond is the state transitions one running iteration
	// spends per second (its states ÷ its duration); 0 when unknown. With
	// it, the account's state-transition bucket caps MaxConcurrency.
	TransitionsPerSecond float64
}

// ParameterStore names a shared place that holds a number for others to
// read: an SSM parameter, or one attribute of a DynamoDB item.
type ParameterStore struct {
	SSMParameter string            // SSM parameter name (String of the number)
	ItemKey      map[string]string // DynamoDB item key: attribute → value (strings)
	Attribute    string            // DynamoDB attribute holding the number
	// Table is Target.Table: the DynamoDB table of the item.
}

// Backend is "ssm", "dynamodb" or "" when the target publishes nowhere.
func (p *ParameterStore) Backend() string {
	switch {
	case p.SSMParameter != "":
		return "ssm"
	case p.Attribute != "":
		return "dynamodb"
	}
	return ""
}

func (p *ParameterStore) identity() string {
	if p.SSMParameter != "" {
		return "parameter " + p.SSMParameter
	}
	keys := make([]string, 0, len(p.ItemKey))
	for k, v := range p.ItemKey {
		keys = append(keys, k+"="+v)
	}
	sort.Strings(keys)
	return "item {" + strings.Join(keys, ",") + "}." + p.Attribute
}

func (s *StepFunctions) identity(p *ParameterStore) string {
	name := s.StateMachine
	if i := strings.LastIndex(name, ":"); i >= 0 {
		name = name[i+1:]
	}
	id := "state machine " + name + " map " + strings.Join(s.MapState, " > ")
	if s.Mode == MapModeParameter {
		id += " via " + p.identity()
	}
	return id
}

var (
	stateMachineARN = regexp.MustCompile(`^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[^:\s]{1,80}$`)
	aliasRE         = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)
	ssmNameRE       = regexp.MustCompile(`^[A-Za-z0-9_.\-/]+$`)
)

// Bounds of MaxConcurrency that a target may set: 1 (autotuner never
// writes 0, which removes the limit) to the Distributed Map's 10,000
// parallel child executions; an Inline Map's 40 is enforced when the
// definition is read.
const maxMapConcurrency = 10000

// maxParameterValue keeps a published number well inside what every
// reader parses as an integer.
const maxParameterValue = 1e9

func (d *decoder) stepFunctionsIdentity(o *obj, t *Target) {
	s := &t.StepFunctions
	if o.str("state_machine", &s.StateMachine) {
		o.check(stateMachineARN.MatchString(s.StateMachine), "state_machine", "must be a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME), got %q", s.StateMachine)
	} else {
		o.check(false, "state_machine", "is required for kind %s: the state machine's ARN", t.Kind)
	}
	d.mapState(o, s)
	s.Mode = MapModeDefinition
	var mode string
	if o.str("mode", &mode) {
		s.Mode = MapMode(mode)
		o.check(s.Mode == MapModeDefinition || s.Mode == MapModeParameter, "mode", "must be definition or parameter, got %q", mode)
	}
	o.boolean("publish", &s.Publish)
	o.str("alias", &s.Alias)
	d.mapQuotaKeys(o, t)
	switch s.Mode {
	case MapModeDefinition:
		if s.Publish {
			o.check(aliasRE.MatchString(s.Alias), "alias", "is required with publish: true (the alias moved to each new version: 1-80 letters, digits, '-' or '_'), got %q", s.Alias)
		} else {
			o.check(s.Alias == "", "alias", "goes with publish: true")
		}
		for _, k := range []string{"ssm_parameter", "table", "key", "attribute"} {
			o.check(!o.has(k), k, "only applies with mode: parameter")
			o.get(k)
		}
	case MapModeParameter:
		o.check(!s.Publish, "publish", "only applies with mode: definition")
		o.check(s.Alias == "", "alias", "only applies with mode: definition")
		d.parameterIdentity(o, t, " with mode: parameter")
	}
}

// Bounds of the quota keys: a million executions at once is the account's
// default open-execution quota; no iteration spends more transitions a
// second than the largest bucket refills.
const (
	maxMapExecutions       = 1000000
	maxIterationTransition = 5000
)

// mapQuotaKeys reads what the account's quotas need to know of the Map
// (executions, transitions_per_second), and the function its items
// invoke, which names the preset's metrics.
func (d *decoder) mapQuotaKeys(o *obj, t *Target) {
	s := &t.StepFunctions
	s.Executions = 1
	var n float64
	if o.number("executions", &n) {
		o.check(n >= 1 && n <= maxMapExecutions && n == math.Trunc(n), "executions", "must be a whole number in [1, %d]: the most executions running this Map at once, got %v", maxMapExecutions, n)
		s.Executions = int(n)
	}
	if o.number("transitions_per_second", &s.TransitionsPerSecond) {
		o.check(s.TransitionsPerSecond > 0 && s.TransitionsPerSecond <= maxIterationTransition, "transitions_per_second", "must be in (0, %d]: the state transitions one running iteration spends a second, got %v", maxIterationTransition, s.TransitionsPerSecond)
	}
	o.str("function", &t.Function)
}

// mapState reads map_state: one state name, or a list of names from the
// top of the definition down through Parallel and Map states.
func (d *decoder) mapState(o *obj, s *StepFunctions) {
	n := o.get("map_state")
	if n == nil {
		o.check(false, "map_state", "is required: the Map state's name, or the list of state names leading to it")
		return
	}
	if n.Kind == yaml.SequenceNode {
		o.used["map_state"] = true
		s.MapState = o.strings("map_state")
		o.check(len(s.MapState) > 0, "map_state", "must name at least one state")
	} else {
		o.str("map_state", new(string))
		if n.Kind == yaml.ScalarNode && n.Value != "" {
			s.MapState = []string{n.Value}
		} else {
			o.check(false, "map_state", "must be a state name or a list of them")
		}
	}
	for i, name := range s.MapState {
		o.check(len(name) <= 80, "map_state", "state %d (%q) is longer than ASL's 80 characters", i, name)
	}
}

// parameterIdentity reads the backend: ssm_parameter, or table + key +
// attribute for a DynamoDB item.
func (d *decoder) parameterIdentity(o *obj, t *Target, context string) {
	p := &t.ParameterStore
	hasSSM := o.str("ssm_parameter", &p.SSMParameter)
	o.str("table", &t.Table)
	p.ItemKey = o.stringMap("key")
	o.str("attribute", &p.Attribute)
	hasItem := t.Table != "" || p.ItemKey != nil || p.Attribute != ""
	switch {
	case hasSSM && hasItem:
		o.check(false, "ssm_parameter", "and table/key/attribute are two backends: choose one%s", context)
	case hasSSM:
		o.check(ssmNameRE.MatchString(p.SSMParameter) && len(p.SSMParameter) <= 1011, "ssm_parameter", "must be an SSM parameter name (up to 1,011 letters, digits, '_', '.', '-', '/'), got %q", p.SSMParameter)
	case hasItem:
		o.check(t.Table != "", "table", "is required with key and attribute")
		o.check(len(p.ItemKey) >= 1 && len(p.ItemKey) <= 2, "key", "must give the item's partition key, and its sort key if the table has one (1 or 2 attributes), got %d", len(p.ItemKey))
		o.check(p.Attribute != "", "attribute", "is required: the attribute that holds the number")
		for k := range p.ItemKey {
			o.check(k != p.Attribute, "attribute", "%q is a key attribute; the number goes in another one", k)
		}
	default:
		o.check(false, "ssm_parameter", "or table, key and attribute, is required%s: where the value is published", context)
	}
}

func checkParameterBounds(o *obj, t *Target) {
	if t.Kind == StepFunctionsMap {
		o.check(t.Min >= 1, "min", "must be >= 1: MaxConcurrency 0 removes the limit, which autotuner never sets, got %v", t.Min)
		o.check(t.Max <= maxMapConcurrency, "max", "must be <= %d (a Distributed Map's most parallel child executions), got %v", maxMapConcurrency, t.Max)
		return
	}
	o.check(t.Max <= maxParameterValue, "max", "must be <= %v, got %v", float64(maxParameterValue), t.Max)
}

// Identity names the published value, for messages.
func (p *ParameterStore) Identity() string { return p.identity() }

// sharedParameters refuses two targets that publish to one place (a
// parameter target and a Map in mode parameter, say): they would fight.
func (d *decoder) sharedParameters(targets []*Target) {
	seen := map[string]int{}
	for i, t := range targets {
		if t.Kind != Parameter && !(t.Kind == StepFunctionsMap && t.StepFunctions.Mode == MapModeParameter) {
			continue
		}
		if t.ParameterStore.Backend() == "" {
			continue
		}
		key := t.Region + "|" + t.RoleARN + "|" + t.Table + "|" + t.ParameterStore.identity()
		if prev, dup := seen[key]; dup {
			d.errorf(&yaml.Node{Line: t.Line, Column: t.Col}, fmt.Sprintf("targets[%d]", i),
				"publishes to the same place as targets[%d] (%s): two targets on one value would fight", prev, t.ParameterStore.identity())
			continue
		}
		seen[key] = i
	}
}
