package awsfake

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// StepFunctions fakes the state-machine calls autotuner makes, over the
// AWS JSON 1.0 protocol (X-Amz-Target: AWSStepFunctions.<Op>): describe,
// update (with a definition check), publish a version (guarded by the
// revision id) and aliases.
type StepFunctions struct {
	s  *Server
	mu sync.Mutex
	// Validate checks a definition as UpdateStateMachine would; nil uses
	// a structural check (JSON object with StartAt and States, and no
	// Map state with both MaxConcurrency and MaxConcurrencyPath).
	Validate func(def string) error
	machines map[string]*StateMachine
	aliases  map[string]*Alias
}

// StateMachine is one state machine and its published versions.
type StateMachine struct {
	Definition string
	Revision   int
	Versions   []string // definition of version i+1
}

// Alias routes to versions by weight.
type Alias struct {
	Routes map[string]int // version ARN → weight
}

func newStepFunctions(s *Server) *StepFunctions {
	return &StepFunctions{s: s, machines: map[string]*StateMachine{}, aliases: map[string]*Alias{}}
}

// AddStateMachine creates a state machine at arn.
func (f *StepFunctions) AddStateMachine(arn, definition string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.machines[arn] = &StateMachine{Definition: definition, Revision: 1}
}

// AddAlias creates an alias of a state machine routing to one version.
func (f *StepFunctions) AddAlias(machineARN, name string, routes map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.aliases[machineARN+":"+name] = &Alias{Routes: routes}
}

// Machine returns a copy of a state machine's state.
func (f *StepFunctions) Machine(arn string) StateMachine {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m := f.machines[arn]; m != nil {
		c := *m
		c.Versions = append([]string(nil), m.Versions...)
		return c
	}
	return StateMachine{}
}

// Edit changes a definition as another tool would, for drift tests.
func (f *StepFunctions) Edit(arn, definition string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.machines[arn]
	m.Definition = definition
	m.Revision++
}

// AliasRoutes returns an alias's routing.
func (f *StepFunctions) AliasRoutes(aliasARN string) map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a := f.aliases[aliasARN]; a != nil {
		out := map[string]int{}
		for k, v := range a.Routes {
			out[k] = v
		}
		return out
	}
	return nil
}

func (f *StepFunctions) serve(op string, r *request) response {
	var in map[string]any
	if err := json.Unmarshal(r.body, &in); err != nil {
		return encodeError("states", errorf(400, "SerializationException", "%v", err))
	}
	str := func(k string) string { s, _ := in[k].(string); return s }
	f.mu.Lock()
	defer f.mu.Unlock()
	switch op {
	case "DescribeStateMachine":
		return f.describe(str("stateMachineArn"))
	case "UpdateStateMachine":
		return f.update(str("stateMachineArn"), str("definition"), in["publish"] == true)
	case "PublishStateMachineVersion":
		return f.publish(str("stateMachineArn"), str("revisionId"))
	case "DescribeStateMachineAlias":
		a := f.aliases[str("stateMachineAliasArn")]
		if a == nil {
			return encodeError("states", errorf(400, "ResourceNotFound", "Alias does not exist: %s", str("stateMachineAliasArn")))
		}
		return jsonResponse(map[string]any{"stateMachineAliasArn": str("stateMachineAliasArn"), "routingConfiguration": routes(a.Routes), "creationDate": 1.7e9}, "application/x-amz-json-1.0")
	case "UpdateStateMachineAlias":
		a := f.aliases[str("stateMachineAliasArn")]
		if a == nil {
			return encodeError("states", errorf(400, "ResourceNotFound", "Alias does not exist: %s", str("stateMachineAliasArn")))
		}
		next := map[string]int{}
		rc, _ := in["routingConfiguration"].([]any)
		for _, x := range rc {
			m, _ := x.(map[string]any)
			v, _ := m["stateMachineVersionArn"].(string)
			w, _ := m["weight"].(float64)
			if _, _, ok := f.version(v); !ok {
				return encodeError("states", errorf(400, "ResourceNotFound", "Version does not exist: %s", v))
			}
			next[v] = int(w)
		}
		a.Routes = next
		return jsonResponse(map[string]any{"updateDate": 1.7e9}, "application/x-amz-json-1.0")
	}
	return encodeError("states", errorf(400, "UnknownOperationException", "awsfake: no Step Functions fake for %s", op))
}

func routes(m map[string]int) []map[string]any {
	var out []map[string]any
	for k, v := range m {
		out = append(out, map[string]any{"stateMachineVersionArn": k, "weight": v})
	}
	return out
}

// version resolves "<machine>:<n>" to its machine and definition.
func (f *StepFunctions) version(arn string) (*StateMachine, string, bool) {
	i := strings.LastIndex(arn, ":")
	if i < 0 {
		return nil, "", false
	}
	n, err := strconv.Atoi(arn[i+1:])
	m := f.machines[arn[:i]]
	if err != nil || m == nil || n < 1 || n > len(m.Versions) {
		return nil, "", false
	}
	return m, m.Versions[n-1], true
}

func (f *StepFunctions) describe(arn string) response {
	def, rev := "", ""
	if m := f.machines[arn]; m != nil {
		def, rev = m.Definition, strconv.Itoa(m.Revision)
	} else if _, d, ok := f.version(arn); ok {
		def = d
	} else {
		return encodeError("states", errorf(400, "StateMachineDoesNotExist", "State Machine Does Not Exist: '%s'", arn))
	}
	name := arn[strings.LastIndex(arn, "stateMachine:")+len("stateMachine:"):]
	return jsonResponse(map[string]any{
		"stateMachineArn": arn, "name": name, "status": "ACTIVE", "definition": def, "revisionId": rev,
		"roleArn": "arn:aws:iam::123456789012:role/sfn", "type": "STANDARD", "creationDate": 1.7e9,
	}, "application/x-amz-json-1.0")
}

func (f *StepFunctions) update(arn, def string, publish bool) response {
	m := f.machines[arn]
	if m == nil {
		return encodeError("states", errorf(400, "StateMachineDoesNotExist", "State Machine Does Not Exist: '%s'", arn))
	}
	if def != "" {
		check := f.Validate
		if check == nil {
			check = structuralCheck
		}
		if err := check(def); err != nil {
			return encodeError("states", errorf(400, "InvalidDefinition", "Invalid State Machine Definition: '%v'", err))
		}
		m.Definition = def
		m.Revision++
	}
	out := map[string]any{"updateDate": 1.7e9, "revisionId": strconv.Itoa(m.Revision)}
	if publish {
		m.Versions = append(m.Versions, m.Definition)
		out["stateMachineVersionArn"] = fmt.Sprintf("%s:%d", arn, len(m.Versions))
	}
	return jsonResponse(out, "application/x-amz-json-1.0")
}

func (f *StepFunctions) publish(arn, revision string) response {
	m := f.machines[arn]
	if m == nil {
		return encodeError("states", errorf(400, "StateMachineDoesNotExist", "State Machine Does Not Exist: '%s'", arn))
	}
	if revision != "" && revision != strconv.Itoa(m.Revision) {
		return encodeError("states", errorf(400, "ConflictException", "Failed to publish the State Machine version for revision %s. The current State Machine revision is %d.", revision, m.Revision))
	}
	m.Versions = append(m.Versions, m.Definition)
	return jsonResponse(map[string]any{"creationDate": 1.7e9, "stateMachineVersionArn": fmt.Sprintf("%s:%d", arn, len(m.Versions))}, "application/x-amz-json-1.0")
}

// structuralCheck refuses what Step Functions refuses for certain: not a
// JSON object, no StartAt or States, or a Map state that sets both
// MaxConcurrency and MaxConcurrencyPath, or a negative MaxConcurrency.
func structuralCheck(def string) error {
	var root map[string]any
	if err := json.Unmarshal([]byte(def), &root); err != nil {
		return fmt.Errorf("SCHEMA_VALIDATION_FAILED: %v", err)
	}
	return checkMachine(root, "")
}

func checkMachine(m map[string]any, at string) error {
	if _, ok := m["StartAt"].(string); !ok {
		return fmt.Errorf("SCHEMA_VALIDATION_FAILED: StartAt is required at %s/", at)
	}
	states, ok := m["States"].(map[string]any)
	if !ok {
		return fmt.Errorf("SCHEMA_VALIDATION_FAILED: States is required at %s/", at)
	}
	for name, v := range states {
		st, _ := v.(map[string]any)
		loc := at + "/States/" + name
		if st["Type"] == "Map" {
			_, hasPath := st["MaxConcurrencyPath"]
			mc, hasMC := st["MaxConcurrency"]
			if hasPath && hasMC {
				return fmt.Errorf("SCHEMA_VALIDATION_FAILED: MaxConcurrency and MaxConcurrencyPath are exclusive at %s/MaxConcurrency", loc)
			}
			if n, ok := mc.(float64); ok && (n < 0 || n != float64(int64(n))) {
				return fmt.Errorf("SCHEMA_VALIDATION_FAILED: MaxConcurrency must be a non-negative integer at %s/MaxConcurrency", loc)
			}
			for _, k := range []string{"ItemProcessor", "Iterator"} {
				if p, ok := st[k].(map[string]any); ok {
					if err := checkMachine(p, loc+"/"+k); err != nil {
						return err
					}
				}
			}
		}
		if br, ok := st["Branches"].([]any); ok {
			for i, b := range br {
				if bm, ok := b.(map[string]any); ok {
					if err := checkMachine(bm, fmt.Sprintf("%s/Branches/%d", loc, i)); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}
