package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const sfnARN = "arn:aws:states:us-east-1:123456789012:stateMachine:orders"

func loadOne(t *testing.T, target string) (*Target, error) {
	t.Helper()
	doc := "version: 1\ntargets:\n  - " + strings.ReplaceAll(strings.TrimSpace(target), "\n", "\n    ") +
		"\n    signals: {busy: {namespace: N, metric: M, stat: Sum}}\n    policy: {static: {}}\n"
	f, err := Parse("sfn.yaml", []byte(doc))
	if err != nil {
		return nil, err
	}
	return f.Targets[0], nil
}

func TestStepFunctionsMapTargets(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       StepFunctions
		store      ParameterStore
		table      string
		identity   string
	}{{
		name:     "definition, nested path, published",
		yaml:     "name: m\nkind: stepfunctions-map\nstate_machine: " + sfnARN + "\nmap_state: [Process, Fan out]\npublish: true\nalias: live\nmin: 1\nmax: 40",
		want:     StepFunctions{StateMachine: sfnARN, MapState: []string{"Process", "Fan out"}, Mode: MapModeDefinition, Publish: true, Alias: "live", Executions: 1},
		identity: "state machine orders map Process > Fan out",
	}, {
		name:     "parameter mode through SSM",
		yaml:     "name: m\nkind: stepfunctions-map\nstate_machine: " + sfnARN + "\nmap_state: Fan out\nmode: parameter\nssm_parameter: /orders/limit\nmin: 1\nmax: 10000",
		want:     StepFunctions{StateMachine: sfnARN, MapState: []string{"Fan out"}, Mode: MapModeParameter, Executions: 1},
		store:    ParameterStore{SSMParameter: "/orders/limit"},
		identity: "state machine orders map Fan out via parameter /orders/limit",
	}, {
		name:     "the account's quotas: executions sharing them, transitions per iteration",
		yaml:     "name: m\nkind: stepfunctions-map\nstate_machine: " + sfnARN + "\nmap_state: M\nexecutions: 20\ntransitions_per_second: 2.5\nfunction: process-item\nmin: 1\nmax: 40",
		want:     StepFunctions{StateMachine: sfnARN, MapState: []string{"M"}, Mode: MapModeDefinition, Executions: 20, TransitionsPerSecond: 2.5},
		identity: "state machine orders map M",
	}, {
		name:     "parameter kind on a DynamoDB item",
		yaml:     "name: m\nkind: parameter\ntable: limits\nkey: {pk: orders}\nattribute: max_concurrency\nmin: 0\nmax: 500",
		store:    ParameterStore{ItemKey: map[string]string{"pk": "orders"}, Attribute: "max_concurrency"},
		table:    "limits",
		identity: "item {pk=orders}.max_concurrency",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			tg, err := loadOne(t, tc.yaml)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, tg.StepFunctions); d != "" {
				t.Errorf("StepFunctions (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.store, tg.ParameterStore); d != "" {
				t.Errorf("ParameterStore (-want +got):\n%s", d)
			}
			if tg.Table != tc.table || tg.Identity() != tc.identity {
				t.Errorf("table %q identity %q, want %q %q", tg.Table, tg.Identity(), tc.table, tc.identity)
			}
		})
	}
}

func TestStepFunctionsMapErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"name: m\nkind: stepfunctions-map\nmap_state: M\nmin: 1\nmax: 5", "state_machine: is required"},
		{"name: m\nkind: stepfunctions-map\nstate_machine: orders\nmap_state: M\nmin: 1\nmax: 5", "must be a state machine ARN"},
		{"name: m\nkind: stepfunctions-map\nstate_machine: " + sfnARN + "\nmin: 1\nmax: 5", "map_state: is required"},
		{"name: m\nkind: stepfunctions-map\nstate_machine: " + sfnARN + "\nmap_state: M\nmin: 0\nmax: 5", "MaxConcurrency 0 removes the limit"},
		{"name: m\nkind: stepfunctions-map\nstate_machine: " + sfnARN + "\nmap_state: M\nmin: 1\nmax: 20000", "must be <= 10000"},
		{"name: m\nkind: stepfunctions-map\nstate_machine: " + sfnARN + "\nmap_state: M\npublish: true\nmin: 1\nmax: 5", "alias: is required with publish: true"},
		{"name: m\nkind: stepfunctions-map\nstate_machine: " + sfnARN + "\nmap_state: M\nmode: runtime\nmin: 1\nmax: 5", "must be definition or parameter"},
		{"name: m\nkind: stepfunctions-map\nstate_machine: " + sfnARN + "\nmap_state: M\nexecutions: 2.5\nmin: 1\nmax: 5", "executions: must be a whole number in [1, 1000000]"},
		{"name: m\nkind: stepfunctions-map\nstate_machine: " + sfnARN + "\nmap_state: M\nexecutions: 0\nmin: 1\nmax: 5", "executions: must be a whole number"},
		{"name: m\nkind: stepfunctions-map\nstate_machine: " + sfnARN + "\nmap_state: M\ntransitions_per_second: 0\nmin: 1\nmax: 5", "transitions_per_second: must be in (0, 5000]"},
		{"name: m\nkind: parameter\nssm_parameter: /p\nexecutions: 3\nmin: 1\nmax: 5", "executions"},
		{"name: m\nkind: stepfunctions-map\nstate_machine: " + sfnARN + "\nmap_state: M\nmode: parameter\nmin: 1\nmax: 5", "ssm_parameter: or table, key and attribute, is required with mode: parameter"},
		{"name: m\nkind: stepfunctions-map\nstate_machine: " + sfnARN + "\nmap_state: M\nssm_parameter: /x\nmin: 1\nmax: 5", "ssm_parameter: only applies with mode: parameter"},
		{"name: m\nkind: parameter\nssm_parameter: /x\ntable: t\nkey: {pk: a}\nattribute: v\nmin: 1\nmax: 5", "two backends"},
		{"name: m\nkind: parameter\ntable: t\nkey: {pk: a}\nattribute: pk\nmin: 1\nmax: 5", "is a key attribute"},
		{"name: m\nkind: parameter\nssm_parameter: 'bad name'\nmin: 1\nmax: 5", "must be an SSM parameter name"},
	} {
		_, err := loadOne(t, tc.yaml)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s\nerror %v, want it to say %q", tc.yaml, err, tc.want)
		}
	}
}

func TestSharedParameterRefused(t *testing.T) {
	doc := `version: 1
targets:
  - {name: a, kind: parameter, ssm_parameter: /x, min: 1, max: 5, signals: {s: {namespace: N, metric: M, stat: Sum}}, policy: {static: {}}}
  - {name: b, kind: stepfunctions-map, state_machine: "` + sfnARN + `", map_state: M, mode: parameter, ssm_parameter: /x, min: 1, max: 5, signals: {s: {namespace: N, metric: M, stat: Sum}}, policy: {static: {}}}
`
	_, err := Parse("p.yaml", []byte(doc))
	if err == nil || !strings.Contains(err.Error(), "targets[1]: publishes to the same place as targets[0] (parameter /x)") {
		t.Errorf("error %v", err)
	}
}
