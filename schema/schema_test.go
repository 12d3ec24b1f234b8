package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/policy"
	"github.com/autotuner/autotuner/sim"
)

// The committed schemas are what the definitions generate.
func TestCommittedSchemasAreGenerated(t *testing.T) {
	files, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(name)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the definitions generate (%v): run `go generate ./schema`", name, err)
		}
	}
}

func compile(t *testing.T, file string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	s, err := c.Compile(file)
	if err != nil {
		t.Fatalf("%s does not compile: %v", file, err)
	}
	return s
}

// fromYAML turns a YAML document into the values a JSON decoder gives.
func fromYAML(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(jsonable(v))
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonable(e)
		}
	case []any:
		for i, e := range x {
			x[i] = jsonable(e)
		}
	case time.Time:
		return x.Format(time.RFC3339Nano)
	}
	return v
}

func glob(t *testing.T, patterns ...string) []string {
	var out []string
	for _, p := range patterns {
		m, _ := filepath.Glob(p)
		out = append(out, m...)
	}
	if len(out) == 0 {
		t.Fatalf("no files match %v", patterns)
	}
	return out
}

// Every valid policies file in the repository validates against the
// schema; of the deliberately broken ones, those broken in shape fail it.
func TestPoliciesFilesAgainstSchema(t *testing.T) {
	s := compile(t, PoliciesFile)
	files := glob(t, "../policies.example.yaml", "../config/testdata/*.yaml", "../sim/policies/*.yaml", "../daemon/testdata/*.yaml", "../deploy/sam/policies.yaml", "../testdata/events/policies.yaml")
	shapeBroken := map[string]bool{"unknown_key.yaml": true, "bad_kind.yaml": true, "wrong_type.yaml": true, "probe.yaml": true, "bad_percent.yaml": true}
	valid := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		verr := s.Validate(fromYAML(t, data))
		_, lerr := config.Load(f)
		switch {
		case lerr == nil && verr != nil:
			t.Errorf("%s: valid, but the schema refuses it: %v", f, verr)
		case shapeBroken[filepath.Base(f)] && verr == nil:
			t.Errorf("%s: broken in shape, but the schema accepts it", f)
		}
		if lerr == nil {
			valid++
		}
	}
	if valid < 6 {
		t.Errorf("only %d valid policies files checked", valid)
	}
}

func TestExampleHasModeline(t *testing.T) {
	b, err := os.ReadFile("../policies.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if want := "# yaml-language-server: $schema=./schema/" + PoliciesFile + "\n"; !strings.HasPrefix(string(b), want) {
		t.Errorf("policies.example.yaml does not start with %q", want)
	}
}

// Every scenario the simulator accepts validates against the schema.
func TestScenariosAgainstSchema(t *testing.T) {
	s := compile(t, ScenarioFile)
	n := 0
	for _, f := range glob(t, "../sim/scenarios/*.yaml", "../sim/testdata/*.yaml", "../sim/testdata/holdout/*.yaml") {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sim.ParseScenario(f, data); err != nil {
			continue // a policies file beside the scenarios
		}
		n++
		if err := s.Validate(fromYAML(t, data)); err != nil {
			t.Errorf("%s: the simulator accepts it, the schema does not: %v", f, err)
		}
	}
	if n < 7 {
		t.Errorf("only %d scenarios checked", n)
	}
	bad := fromYAML(t, []byte("name: x\nduration: 1h\nbogus: 1\n"))
	if s.Validate(bad) == nil {
		t.Error("an unknown key passes the scenario schema")
	}
}

// The golden record, the documented example and a record with every
// field set validate against the audit-record schema.
func TestAuditRecordsAgainstSchema(t *testing.T) {
	s := compile(t, AuditFile)
	golden, err := os.ReadFile("../controller/testdata/audit_record.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../docs/audit.md")
	if err != nil {
		t.Fatal(err)
	}
	example := regexp.MustCompile("(?s)```json\n(\\{\"v\".*?)\n```").FindSubmatch(doc)
	if example == nil {
		t.Fatal("docs/audit.md has no example record")
	}
	at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	full := controller.Record{
		V: 1, Time: at, Target: "t", Kind: "dynamodb-provisioned", Resource: "table t write", Mode: controller.ModeApply, Alarm: true,
		Signals: map[string]policy.Signal{"c": {Value: 1, At: at, Valid: true, Filled: true, Why: "x"}},
		Current: 10, ReadActual: true, Drift: &controller.Drift{Expected: 10, Actual: 12},
		Constraints: policy.Constraints{Ceiling: 1, Floor: 1, NotBefore: at, Blocked: "UPDATING"},
		Decision:    &policy.Decision{Policy: "autotuner", Current: 10, Proposed: 12, Final: 12, Action: policy.Up},
		Final:       12, Applied: true, Error: "e", ErrorClass: controller.Class("throttled"), Stage: "apply",
	}
	fb, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	zb, _ := json.Marshal(controller.Record{})
	for name, b := range map[string][]byte{"golden": golden, "docs/audit.md": bytes.Join(bytes.Fields(example[1]), []byte(" ")), "full": fb, "zero": zb} {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := s.Validate(v); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	extra, _ := jsonschema.UnmarshalJSON(strings.NewReader(fmt.Sprintf(`%s`, strings.Replace(string(fb), `"v":1`, `"v":1,"bogus":2`, 1))))
	if s.Validate(extra) == nil {
		t.Error("a record with an unknown field passes")
	}
}
