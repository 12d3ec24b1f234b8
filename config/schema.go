package config

import (
	"strings"
)

// The JSON Schema of the policies file, for editors and other tools. It is
// built here, beside the validator, from the validator's own patterns and
// names (nameRE, regionRE, Kinds, PolicyNames, presets…), and two tests
// keep the two in step: every key the validator reads must be declared
// here (schema_test.go), and every mapping's keys here must be the keys
// the validator knows at that place (testdata/probe.yaml). The validator
// stays the authority: some rules (a signal a policy names must exist,
// bounds by kind) are beyond a schema.

// Schema is one JSON Schema node.
type Schema = map[string]any

// SchemaID is where the policies-file schema is published in the
// repository, for the yaml-language-server modeline.
const SchemaID = "https://github.com/autotuner/autotuner/schema/policies.schema.json"

func sString(desc string) Schema { return Schema{"type": "string", "description": desc} }

func sPattern(desc, re string) Schema {
	return Schema{"type": "string", "pattern": re, "description": desc}
}

func sEnum(desc string, vals ...string) Schema {
	e := make([]any, len(vals))
	for i, v := range vals {
		e[i] = v
	}
	return Schema{"enum": e, "description": desc}
}

const (
	numberRE   = `^\s*-?[0-9][0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)?\s*$`
	durationRE = `^\s*([0-9]+d|([0-9]+(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+)\s*$`
	percentRE  = `^\s*-?[0-9][0-9_]*(\.[0-9_]*)?\s*%\s*$`
)

// sNumber is a number, or a string the validator reads as one (10_000).
func sNumber(desc string) Schema {
	return Schema{"anyOf": []any{Schema{"type": "number"}, Schema{"type": "string", "pattern": numberRE}}, "description": desc}
}

func sInteger(desc string) Schema { return Schema{"type": "integer", "description": desc} }
func sBool(desc string) Schema    { return Schema{"type": "boolean", "description": desc} }
func sDuration(desc string) Schema {
	return sPattern(desc+" (a duration such as 90s, 5m, 1h or 1d)", durationRE)
}
func sPercent(desc string) Schema { return sPattern(desc+" (a percentage such as 70%)", percentRE) }

// sQuantity is a percentage, a duration or a number.
func sQuantity(desc string) Schema {
	return Schema{"anyOf": []any{Schema{"type": "number"}, Schema{"type": "string", "pattern": percentRE}, Schema{"type": "string", "pattern": durationRE}, Schema{"type": "string", "pattern": numberRE}}, "description": desc}
}

// sObject is a mapping with exactly these keys allowed.
func sObject(desc string, props Schema, required ...string) Schema {
	s := Schema{"type": "object", "properties": props, "additionalProperties": false}
	if desc != "" {
		s["description"] = desc
	}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func sList(desc string, items Schema) Schema {
	return Schema{"type": "array", "items": items, "description": desc}
}

func signalRef(desc string) Schema {
	return sPattern(desc+": the name of one of the target's signals", idRE.String())
}

// PoliciesSchema is the JSON Schema of the policies file.
func PoliciesSchema() Schema {
	s := sObject("", Schema{
		"version":  Schema{"const": Version, "description": "the file format's version"},
		"defaults": defaultsSchema(),
		"targets":  sList("the limits to tune", targetSchema()),
	}, "version", "targets")
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = SchemaID
	s["title"] = "autotuner policies file"
	s["description"] = "Which AWS throttling limits autotuner tunes, what it reads and how it decides. Every key: docs/policies.md."
	return s
}

func defaultsSchema() Schema {
	return sObject("values every target inherits unless it says otherwise", Schema{
		"interval":              sDuration("how often the daemon ticks, 10s-24h"),
		"schedule":              sString("a cron spec for the daemon's ticks; @every <interval> when absent"),
		"metric_delay":          sDuration("never read periods newer than now minus this"),
		"period":                sDuration("the default period of a signal"),
		"region":                sPattern("the default AWS region", regionRE.String()),
		"dry_run":               sBool("decide and remember, apply nothing"),
		"discover_every":        sDuration("how often selector entries are evaluated again, 1m-24h"),
		"probation":             sDuration("how long a resource new to a selection runs in dry-run"),
		"forget_after":          sDuration("how long the memory of a resource no selector finds any more is kept, 1h-365d"),
		"allow_unknown_regions": sBool("accept a region the SDK does not know yet"),
	})
}

func kindNames() []string {
	out := make([]string, len(Kinds))
	for i, k := range Kinds {
		out[i] = string(k)
	}
	return out
}

func targetSchema() Schema {
	props := Schema{
		"name":   sPattern("unique within the file; keys the state and the audit records", nameRE.String()),
		"kind":   sEnum("the knob this target turns", kindNames()...),
		"preset": sBool("fill in the kind's standard signals and default policy (on when no signals are declared)"),
		"select": sObject("select many resources; each becomes a target named ENTRY/RESOURCE", Schema{
			"tags": Schema{"type": "object", "additionalProperties": Schema{"type": "string"}, "minProperties": 1, "description": "tags every resource must carry"},
			"name": sString("a shell pattern (* ? [a-z]) on the resource's name"),
		}),
		"probation":                sDuration("with select: how long a resource new to the selection runs in dry-run"),
		"function":                 sString("the Lambda function (name or ARN); stepfunctions-map: the function its items invoke, for the preset's metrics"),
		"queue":                    sString("lambda-sqs-max-concurrency: the queue's name, for the preset's metrics"),
		"api_name":                 sString("apigateway-*: the API's name, for the preset's metrics"),
		"event_source_mapping":     sString("lambda-sqs-max-concurrency: the mapping's UUID"),
		"usage_plan":               sString("apigateway-usage-plan: the plan's id"),
		"api_stage":                sPattern("apigateway-usage-plan: apiId:stage, for one method's throttle", `^[^:]+:[^:]+$`),
		"rest_api":                 sString("apigateway-stage: the REST API's id"),
		"stage":                    sString("apigateway-stage, apigatewayv2-stage: the stage; apigateway-usage-plan: the stage, for the preset's metrics"),
		"api_id":                   sPattern("apigatewayv2-stage: the HTTP API's id", apiIDRE.String()),
		"route":                    sPattern("apigatewayv2-stage: a route key (GET /items); omitted, the stage's default route settings", routeKeyRE.String()),
		"method":                   sPattern("apigateway-*: /resource/GET, or /*/* for all methods", methodRE.String()),
		"limit":                    sEnum("apigateway-*, apigatewayv2-stage: which throttle this target tunes", "rate", "burst"),
		"burst_ratio":              sNumber("apigateway-*, apigatewayv2-stage: with limit rate, burst = ceil(rate × ratio); 0 leaves the burst alone"),
		"table":                    sString("dynamodb-*: the table; parameter: the table of the item"),
		"state_machine":            sPattern("stepfunctions-map: the state machine's ARN", stateMachineARN.String()),
		"map_state":                Schema{"anyOf": []any{Schema{"type": "string", "minLength": 1}, Schema{"type": "array", "items": Schema{"type": "string", "minLength": 1}, "minItems": 1}}, "description": "stepfunctions-map: the Map state's name, or the state names leading to it"},
		"mode":                     sEnum("stepfunctions-map: edit the definition, or publish the value as a parameter", string(MapModeDefinition), string(MapModeParameter)),
		"publish":                  sBool("stepfunctions-map: each change is a new published version"),
		"alias":                    sPattern("stepfunctions-map: the alias moved to each new version", aliasRE.String()),
		"executions":               Schema{"type": "integer", "minimum": 1, "maximum": maxMapExecutions, "description": "stepfunctions-map: the most executions running this Map at once; the account's quotas are shared by all"},
		"transitions_per_second":   Schema{"type": "number", "exclusiveMinimum": 0, "maximum": maxIterationTransition, "description": "stepfunctions-map: state transitions one running iteration spends a second; caps MaxConcurrency by the account's bucket"},
		"ssm_parameter":            sPattern("parameter: the SSM parameter's name", ssmNameRE.String()),
		"key":                      Schema{"type": "object", "additionalProperties": Schema{"type": "string"}, "minProperties": 1, "maxProperties": 2, "description": "parameter: the item's key"},
		"attribute":                sString("parameter: the attribute that holds the number"),
		"bucket":                   sPattern("ratelimit-bucket: the bucket's name in its table", bucketRE.String()),
		"index":                    sString("dynamodb-*: a global secondary index"),
		"capacity":                 sEnum("dynamodb-*: which capacity", "read", "write"),
		"region":                   sPattern("the resource's region", regionRE.String()),
		"role_arn":                 sPattern("a role to assume for this target", roleRE.String()),
		"min":                      sNumber("the lowest value autotuner may set"),
		"max":                      sNumber("the highest value autotuner may set"),
		"allow_zero":               sBool("lambda-reserved-concurrency: permit a reservation of 0, which stops the function"),
		"dry_run":                  sBool("decide and remember, apply nothing"),
		"coexist_with_autoscaling": sBool("dynamodb-*: tune a table Application Auto Scaling also scales"),
		"alarms":                   sList("CloudWatch alarms that evaluate this target at once", Schema{"type": "string", "minLength": 1}),
		"alarm_bypasses_cooldown":  sBool("an alarm in ALARM may raise the limit during the up cooldown"),
		"schedule":                 sString("this target's own cron spec"),
		"signals":                  Schema{"type": "object", "propertyNames": Schema{"pattern": idRE.String()}, "additionalProperties": signalSchema(), "description": "what the policy and the guards read, by name"},
		"policy":                   policySchema(),
		"guards":                   sList("downstream health that vetoes or cuts increases", guardSchema()),
		"decreases": sObject("dynamodb-provisioned: how the scarce daily decreases are spent", Schema{
			"reserve":    sInteger("decreases kept in hand for the rest of the day"),
			"min_saving": sPercent("the least saving a decrease must bring"),
		}),
	}
	s := sObject("one knob under control", props, "name", "kind", "min", "max")
	var rules []any
	for _, k := range Kinds {
		var need []string
		switch k {
		case LambdaReservedConcurrency:
			need = []string{"function"}
		case LambdaSQSMaxConcurrency:
			need = []string{"event_source_mapping"}
		case APIGatewayUsagePlan:
			need = []string{"usage_plan"}
		case APIGatewayStage:
			need = []string{"rest_api", "stage"}
		case APIGatewayV2Stage:
			need = []string{"api_id", "stage"}
		case StepFunctionsMap:
			need = []string{"state_machine", "map_state"}
		case Parameter:
			continue // ssm_parameter, or table, key and attribute
		case RateLimitBucket:
			need = []string{"table", "bucket"}
		default:
			need = []string{"table", "capacity"}
		}
		rules = append(rules, Schema{
			"if":   Schema{"properties": Schema{"kind": Schema{"const": string(k)}}, "required": []string{"kind"}, "not": Schema{"required": []string{"select"}}},
			"then": Schema{"required": need},
		})
	}
	s["allOf"] = rules
	return s
}

func signalSchema() Schema {
	return sObject("one input: a CloudWatch metric, metric math, an SQS attribute or another target's limit", Schema{
		"source":     sEnum("where the signal is read", string(SourceCloudWatch), string(SourceSQS), string(SourceTarget)),
		"namespace":  sString("the metric's namespace, e.g. AWS/Lambda"),
		"metric":     sString("the metric's name"),
		"dimensions": Schema{"type": "object", "additionalProperties": Schema{"type": "string"}, "maxProperties": 30, "description": "the metric's dimensions"},
		"stat":       sPattern("the statistic of each period", statRE.String()),
		"expression": sString("metric math; replaces namespace, metric, dimensions and stat"),
		"period":     sDuration("the period of each datapoint"),
		"delay":      sDuration("the newest period read ends at now minus this"),
		"per_second": sBool("divide each value by the period in seconds"),
		"missing":    sEnum("how a period without a datapoint is read", string(MissingHold), string(MissingZero)),
		"queue_url":  sString("source sqs: the queue's URL"),
		"attribute":  sEnum("source sqs: the attribute", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"),
		"target":     sString("source target: the name of another target whose limit in force this reads"),
		"region":     sPattern("read the metric in this region (a peer region's demand)", regionRE.String()),
	})
}

func guardSchema() Schema {
	return sObject("a back-pressure guard", Schema{
		"signal":   signalRef("the downstream health signal"),
		"warn":     sNumber("above this, no increase"),
		"critical": sNumber("above this, cut"),
		"cut":      sPercent("how much a cut takes off"),
		"memory":   sDuration("how long the level of the last cut is remembered"),
	}, "signal", "warn")
}

func policySchema() Schema {
	upDown := func(down bool) Schema {
		p := Schema{
			"max_step":  sPercent("the largest step"),
			"max_units": sNumber("the largest step in units"),
			"cooldown":  sDuration("the least time between two changes this way"),
			"after":     sInteger("evaluations beyond the band before acting"),
		}
		if down {
			p["stabilization"] = sDuration("follow the highest recommendation over this window")
			p["stabilization_max"] = sDuration("how far the window may stretch when decreases keep being undone")
		}
		return sObject("", p)
	}
	sp := func(desc string) Schema {
		return sObject(desc, Schema{"signal": signalRef("the signal"), "target": sQuantity("the setpoint")}, "signal")
	}
	bodies := Schema{
		"autotuner": sObject("the default hysteresis/PID engine", Schema{
			"utilization": sObject("a signal per unit of limit", Schema{"signal": signalRef("the load"), "target": sPercent("the utilization to hold")}, "signal"),
			"backlog":     sp("an up-only setpoint: a queue's age or depth"),
			"feedforward": sObject("demand predicted from an upstream arrival rate", Schema{
				"signal": signalRef("the arrival rate"), "per_request": sNumber("limit units per request"), "duration": signalRef("the duration, in ms, for Little's law"),
				"target": sPercent("the utilization aimed at"), "drain": sDuration("how soon a backlog is drained"), "backlog": signalRef("the backlog drained"),
				"admitted": signalRef("the rate the API in front admits (a source target signal)"),
			}, "signal"),
			"setpoints": sList("general setpoints", sObject("", Schema{"signal": signalRef("the signal"), "target": sQuantity("the setpoint"), "per_limit": sBool("the signal is per unit of limit"), "up_only": sBool("only pushes up")}, "signal", "target")),
			"throttles": Schema{"anyOf": []any{signalRef("the throttle counter"), sObject("", Schema{"signal": signalRef("the throttle counter"), "requests": signalRef("the served requests"), "offered": signalRef("every request offered, rejected ones included (API Gateway Count)"), "boost": sPercent("the least step on a throttle")}, "signal")}},
			"band":      sPercent("no change inside this band around the setpoint"),
			"pid":       sObject("gains", Schema{"kp": sNumber(""), "ki": sNumber(""), "kd": sNumber(""), "d_filter": sNumber(""), "integral_limit": sNumber("")}),
			"up":        upDown(false),
			"down":      upDown(true),
			"dead_band": sQuantity("ignore changes smaller than this (a percentage or units)"),
			"forecast":  sBool("raise ahead of load that recurs, learned from its seasonal profile"),
		}),
		"static": sObject("a fixed value", Schema{"value": sNumber("the value")}),
		"target-tracking": sObject("AWS target tracking", Schema{
			"signal": signalRef("consumption"), "target": sPercent("target utilization"), "out_after": sInteger(""), "in_after": sInteger(""),
			"in_margin": sPercent(""), "out_cooldown": sDuration(""), "in_cooldown": sDuration(""), "disable_scale_in": sBool(""),
		}, "signal"),
		"step-scaling": sObject("AWS step scaling", Schema{
			"signal": signalRef("the metric"), "high": sPercent(""), "low": sPercent(""), "high_periods": sInteger(""), "low_periods": sInteger(""),
			"cooldown": sDuration(""), "min_adjustment": sNumber(""), "out": sList("", stepSchema()), "in": sList("", stepSchema()),
		}, "signal"),
		"hpa": sObject("the Kubernetes HPA's rule", Schema{
			"signal": signalRef("the metric"), "target": sPercent(""), "tolerance": sPercent(""), "down_stabilization": sDuration(""),
			"up_percent": sPercent(""), "up_units": sNumber(""), "up_period": sDuration(""),
		}, "signal"),
		"threshold": sObject("dynamic-dynamodb's thresholds", Schema{
			"signal": signalRef("consumption"), "upper": sPercent(""), "lower": sPercent(""), "increase": sPercent(""), "decrease": sPercent(""),
			"checks_before_down": sInteger(""), "throttles": signalRef("throttles"), "throttled_upper": sNumber(""),
		}, "signal"),
		"aimd": sObject("additive increase, multiplicative decrease", Schema{
			"signal": signalRef("the load"), "throttles": signalRef("throttles"), "high": sPercent(""), "low": sPercent(""), "add": sNumber(""),
			"beta": sPercent(""), "low_after": sInteger(""), "congestion": signalRef("a congestion signal"), "congestion_at": sNumber(""),
		}, "signal"),
		"global-share": sObject("one global limit shared among regional buckets", Schema{
			"global": sNumber("the limit all regions share"), "acquired": signalRef("this region's granted tokens"), "denied": signalRef("this region's denied requests"),
			"peers": sList("the other regions", sObject("", Schema{"limit": signalRef("the peer's limit (a source target signal)"), "acquired": signalRef("the peer's granted tokens"), "denied": signalRef("the peer's denied requests")}, "limit")),
		}, "global"),
	}
	s := sObject("how the next limit is decided: exactly one of "+strings.Join(PolicyNames, ", "), bodies)
	s["minProperties"], s["maxProperties"] = 1, 1
	for name, b := range bodies {
		// A policy written with no body (`static:`) takes its defaults.
		bodies[name] = Schema{"anyOf": []any{b, Schema{"type": "null"}}}
	}
	return s
}

func stepSchema() Schema {
	return sObject("one step", Schema{"lower": sPercent("lower bound of the breach"), "upper": sPercent("upper bound of the breach"), "change": sPercent("the change")}, "change")
}
