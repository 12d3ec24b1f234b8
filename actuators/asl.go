package actuators

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// This file edits one Map state's MaxConcurrency in an Amazon States
// Language definition and leaves every other byte as it was: a person's
// formatting, key order, comments in Comment fields and number spellings
// all survive, so the state machine's diff in the console or in version
// control shows exactly one changed field.
//
// It parses the JSON into a tree of byte spans (jnode) rather than into Go
// values, because re-encoding would reorder keys and reformat numbers.

// Map execution bounds (MaxConcurrency) as documented:
// https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html
// (Inline mode "supports up to 40 concurrent iterations") and
// https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html
// (Distributed mode runs up to 10,000 parallel child workflow executions).
// MaxConcurrency 0 means no limit: the mode's maximum applies.
const (
	InlineMapMaxConcurrency      = 40
	DistributedMapMaxConcurrency = 10000
)

// MapState is what the definition says about the Map state a target names.
type MapState struct {
	Path        []string
	Distributed bool // ItemProcessor.ProcessorConfig.Mode is DISTRIBUTED
	// NestedDistributed: the item processor holds a Distributed Map (at
	// any depth), so every running iteration holds an open Map Run.
	NestedDistributed bool
	QueryLanguage     string // JSONPath or JSONata, as in force for the state
	// Set reports whether MaxConcurrency is present; Value is its value
	// (0, or absent, means no limit: ModeMax applies).
	Set   bool
	Value int64
	// Dynamic explains why the value cannot be edited here (it is read at
	// run time from MaxConcurrencyPath or a JSONata expression); empty
	// when it can.
	Dynamic string
}

// ModeMax is the most iterations the Map's mode runs at once.
func (m MapState) ModeMax() int64 {
	if m.Distributed {
		return DistributedMapMaxConcurrency
	}
	return InlineMapMaxConcurrency
}

// Effective is the concurrency new executions will run with.
func (m MapState) Effective() int64 {
	if !m.Set || m.Value == 0 || m.Value > m.ModeMax() {
		return m.ModeMax()
	}
	return m.Value
}

// ReadMap finds the Map state at path in a definition.
func ReadMap(def string, path []string) (MapState, error) {
	_, st, err := findMap(def, path)
	return st, err
}

// SetMaxConcurrency returns def with the named Map state's MaxConcurrency
// set to n, every other byte unchanged. A state without the field gets it
// as its first member, indented like its neighbours.
func SetMaxConcurrency(def string, path []string, n int64) (string, error) {
	if n < 1 {
		return "", fmt.Errorf("MaxConcurrency %d: autotuner sets 1 or more (0 would remove the limit)", n)
	}
	obj, st, err := findMap(def, path)
	if err != nil {
		return "", err
	}
	if st.Dynamic != "" {
		return "", fmt.Errorf("%s", st.Dynamic)
	}
	val := strconv.FormatInt(n, 10)
	if v := obj.member("MaxConcurrency"); v != nil {
		return def[:v.start] + val + def[v.end:], nil
	}
	if len(obj.keys) == 0 {
		return def[:obj.start+1] + `"MaxConcurrency": ` + val + def[obj.start+1:], nil
	}
	// Copy the layout between the brace and the first key, so the new
	// member sits where a person would have written it.
	first := obj.keys[0].start
	gap := def[obj.start+1 : first]
	sep := ": "
	if !strings.ContainsAny(gap, "\n") {
		sep = ":"
		if strings.Contains(def[obj.keys[0].end:obj.vals[0].start], " ") {
			sep = ": "
		}
	}
	return def[:first] + `"MaxConcurrency"` + sep + val + "," + gap + def[first:], nil
}

// findMap walks path through the definition's States, entering Parallel
// branches and Map item processors, and checks the last state is a Map.
func findMap(def string, path []string) (*jnode, MapState, error) {
	st := MapState{Path: path}
	if len(path) == 0 {
		return nil, st, fmt.Errorf("no Map state named: the path is empty")
	}
	root, err := parseJSON(def)
	if err != nil {
		return nil, st, fmt.Errorf("the definition is not valid JSON: %w", err)
	}
	if root.kind != '{' {
		return nil, st, fmt.Errorf("the definition is not a JSON object")
	}
	lang := stringMember(def, root, "QueryLanguage", "JSONPath")
	scopes := []*jnode{root}
	var state *jnode
	for i, name := range path {
		var found []*jnode
		for _, sc := range scopes {
			if states := sc.member("States"); states != nil && states.kind == '{' {
				if s := states.member(name); s != nil {
					found = append(found, s)
				}
			}
		}
		where := strings.Join(path[:i+1], " > ")
		switch {
		case len(found) == 0:
			return nil, st, fmt.Errorf("no state %q at %s", name, where)
		case len(found) > 1:
			return nil, st, fmt.Errorf("state %q at %s is in %d parallel branches; it is ambiguous", name, where, len(found))
		case found[0].kind != '{':
			return nil, st, fmt.Errorf("state %q at %s is not an object", name, where)
		}
		state = found[0]
		lang = stringMember(def, state, "QueryLanguage", lang)
		typ := stringMember(def, state, "Type", "")
		if i == len(path)-1 {
			if typ != "Map" {
				return nil, st, fmt.Errorf("state %s is a %s state, not a Map", where, orNone(typ))
			}
			break
		}
		scopes = innerScopes(state, typ)
		if scopes == nil {
			return nil, st, fmt.Errorf("state %s is a %s state: only Parallel and Map states hold other states", where, orNone(typ))
		}
	}
	st.QueryLanguage = lang
	describeMap(def, state, &st)
	return state, st, nil
}

// innerScopes are the state-machine objects a Parallel or Map state holds.
func innerScopes(state *jnode, typ string) []*jnode {
	switch typ {
	case "Parallel":
		var out []*jnode
		if b := state.member("Branches"); b != nil && b.kind == '[' {
			for _, br := range b.items {
				if br.kind == '{' {
					out = append(out, br)
				}
			}
		}
		return out
	case "Map":
		for _, k := range []string{"ItemProcessor", "Iterator"} {
			if p := state.member(k); p != nil && p.kind == '{' {
				return []*jnode{p}
			}
		}
		return []*jnode{}
	}
	return nil
}

func describeMap(def string, state *jnode, st *MapState) {
	if p := state.member("ItemProcessor"); p != nil && p.kind == '{' {
		if c := p.member("ProcessorConfig"); c != nil && c.kind == '{' {
			st.Distributed = stringMember(def, c, "Mode", "INLINE") == "DISTRIBUTED"
		}
	}
	for _, sc := range innerScopes(state, "Map") {
		st.NestedDistributed = st.NestedDistributed || holdsDistributedMap(def, sc, 0)
	}
	if p := state.member("MaxConcurrencyPath"); p != nil {
		st.Dynamic = fmt.Sprintf("the Map state reads its MaxConcurrency at run time from MaxConcurrencyPath %s; use mode: parameter to publish the value it reads", def[p.start:p.end])
		return
	}
	v := state.member("MaxConcurrency")
	if v == nil {
		return
	}
	st.Set = true
	switch v.kind {
	case 'n':
		n, err := strconv.ParseInt(def[v.start:v.end], 10, 64)
		if err != nil || n < 0 {
			st.Dynamic = fmt.Sprintf("MaxConcurrency %s is not a non-negative integer", def[v.start:v.end])
			return
		}
		st.Value = n
	case '"':
		st.Dynamic = fmt.Sprintf("the Map state computes its MaxConcurrency at run time with the %s expression %s; use mode: parameter to publish the value it reads", st.QueryLanguage, def[v.start:v.end])
	default:
		st.Dynamic = fmt.Sprintf("MaxConcurrency %s is not a number", def[v.start:v.end])
	}
}

// maxNesting bounds the walk through nested states: a definition is at
// most 1 MB, and no real one nests this deep.
const maxNesting = 64

// holdsDistributedMap reports whether a state-machine scope holds a
// Distributed Map, in its states or in any Parallel or Map inside them.
func holdsDistributedMap(def string, scope *jnode, depth int) bool {
	states := scope.member("States")
	if depth > maxNesting || states == nil || states.kind != '{' {
		return false
	}
	for _, s := range states.vals {
		if s.kind != '{' {
			continue
		}
		typ := stringMember(def, s, "Type", "")
		if typ == "Map" {
			if p := s.member("ItemProcessor"); p != nil && p.kind == '{' {
				if c := p.member("ProcessorConfig"); c != nil && c.kind == '{' && stringMember(def, c, "Mode", "INLINE") == "DISTRIBUTED" {
					return true
				}
			}
		}
		for _, inner := range innerScopes(s, typ) {
			if holdsDistributedMap(def, inner, depth+1) {
				return true
			}
		}
	}
	return false
}

func stringMember(def string, obj *jnode, key, dflt string) string {
	if v := obj.member(key); v != nil && v.kind == '"' {
		var s string
		if json.Unmarshal([]byte(def[v.start:v.end]), &s) == nil {
			return s
		}
	}
	return dflt
}

func orNone(s string) string {
	if s == "" {
		return "typeless"
	}
	return s
}
