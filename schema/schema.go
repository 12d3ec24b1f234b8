package schema

import (
	"bytes"
	"encoding/json"
	"reflect"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/schemagen"
	"github.com/autotuner/autotuner/policy"
	"github.com/autotuner/autotuner/sim"
)

const base = "https://github.com/autotuner/autotuner/schema/"

// File names of the schemas, in this directory.
const (
	PoliciesFile = "policies.schema.json"
	ScenarioFile = "scenario.schema.json"
	AuditFile    = "audit-record.schema.json"
)

// Files are the schemas, by file name, as they are committed.
func Files() (map[string][]byte, error) {
	out := map[string][]byte{}
	for name, s := range map[string]schemagen.Schema{
		PoliciesFile: config.PoliciesSchema(),
		ScenarioFile: Scenario(),
		AuditFile:    Audit(),
	} {
		b, err := encode(s)
		if err != nil {
			return nil, err
		}
		out[name] = b
	}
	return out, nil
}

func encode(s schemagen.Schema) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil { // maps are written in key order
		return nil, err
	}
	return buf.Bytes(), nil
}

// Scenario is the schema of a simulator scenario, from the struct the
// scenario is decoded into (strictly: unknown keys are errors there too).
func Scenario() schemagen.Schema {
	durationRE := `^\s*([0-9]+(\.[0-9]+)?d|([0-9]+(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+)\s*$`
	s := schemagen.Of(sim.Scenario{}, schemagen.Options{
		Tag: "yaml",
		Override: map[reflect.Type]schemagen.Schema{
			reflect.TypeOf(sim.Duration(0)): {"type": "string", "pattern": durationRE, "description": "a duration such as 90s, 5m, 2h or 28d"},
		},
	})
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = base + ScenarioFile
	s["title"] = "autotuner simulator scenario"
	s["description"] = "A topology, its traffic and faults, replayed by `autotuner simulate`. Every key: docs/simulator.md."
	return s
}

// Audit is the schema of one audit record (one JSON line), from the
// struct the controller encodes.
func Audit() schemagen.Schema {
	s := schemagen.Of(controller.Record{}, schemagen.Options{
		Tag:      "json",
		Required: true,
		As: map[reflect.Type]reflect.Type{
			reflect.TypeOf(policy.Decision{}): reflect.TypeOf(policy.DecisionJSON{}),
		},
	})
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = base + AuditFile
	s["title"] = "autotuner audit record"
	s["description"] = "One line of the audit log: one target, one tick. Every field: docs/audit.md."
	return s
}
