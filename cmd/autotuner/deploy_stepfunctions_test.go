package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"

	"github.com/autotuner/autotuner/actuators"
	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/internal/testenv"
)

const sfnExample = "../../deploy/examples/stepfunctions"

// substitute fills a definition's DefinitionSubstitutions as SAM would.
func substitute(def string) string {
	return strings.NewReplacer(
		"${ItemFunctionArn}", "arn:aws:lambda:us-east-1:123456789012:function:autotuner-example-process-item",
		"${LimitParameterName}", "/autotuner/example/fanout-max-concurrency",
	).Replace(def)
}

// TestStepFunctionsExample parses the example's SAM template, checks that
// the policies file matches it (state machine names, Map states, modes,
// the SSM parameter), and validates both definitions with asl-validator.
func TestStepFunctionsExample(t *testing.T) {
	tmpl, err := goformation.Open(filepath.Join(sfnExample, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := config.Load(filepath.Join(sfnExample, "policies.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	param, err := tmpl.GetSSMParameterWithName("LimitParameter")
	if err != nil {
		t.Fatal(err)
	}
	machines := map[string]string{} // state machine name → definition file
	for _, name := range []string{"InlineWorkflow", "DistributedWorkflow"} {
		sm, err := tmpl.GetServerlessStateMachineWithName(name)
		if err != nil {
			t.Fatal(err)
		}
		if sm.Name == nil || sm.DefinitionUri == nil || sm.DefinitionUri.String == nil {
			t.Fatalf("%s: no name or DefinitionUri", name)
		}
		machines[*sm.Name] = *sm.DefinitionUri.String
	}
	check := testenv.ASLValidator(t)
	for _, tg := range f.Targets {
		if tg.Kind != config.StepFunctionsMap {
			continue
		}
		sf := tg.StepFunctions
		file, ok := machines[sf.StateMachine[strings.LastIndex(sf.StateMachine, ":")+1:]]
		if !ok {
			t.Errorf("%s: state machine %s is not in the template", tg.Name, sf.StateMachine)
			continue
		}
		b, err := os.ReadFile(filepath.Join(sfnExample, file))
		if err != nil {
			t.Fatal(err)
		}
		def := substitute(string(b))
		defs := []string{def}
		m, err := actuators.ReadMap(def, sf.MapState)
		if err != nil {
			t.Fatalf("%s: %v", tg.Name, err)
		}
		switch sf.Mode {
		case config.MapModeDefinition:
			if m.Dynamic != "" || m.Value != 10 {
				t.Errorf("%s: mode definition needs a fixed MaxConcurrency, the file has %+v", tg.Name, m)
			}
			out, err := actuators.SetMaxConcurrency(def, sf.MapState, 25)
			if err != nil {
				t.Fatal(err)
			}
			defs = append(defs, out)
		case config.MapModeParameter:
			if m.Dynamic == "" || !m.Distributed {
				t.Errorf("%s: mode parameter needs a Distributed Map reading MaxConcurrencyPath, the file has %+v", tg.Name, m)
			}
			if param.Name == nil || *param.Name != tg.ParameterStore.SSMParameter {
				t.Errorf("%s publishes %s, the template's parameter is %v", tg.Name, tg.ParameterStore.SSMParameter, param.Name)
			}
		}
		if err := check(defs...); err != nil {
			t.Errorf("%s: %v", file, err)
		}
	}
}
