package actuators

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// genDefinition draws a state machine whose Map state sits at a random
// depth inside Parallel branches and Map item processors, written in a
// random layout, and returns it with the Map's path and its value (-1 for
// none).
func genDefinition(t *rapid.T) (string, []string, int64) {
	depth := rapid.IntRange(0, 3).Draw(t, "depth")
	mc := rapid.Int64Range(-1, 10000).Draw(t, "max_concurrency")
	leaf := map[string]any{"Type": "Map", "End": true,
		"ItemProcessor": map[string]any{"StartAt": "W", "States": map[string]any{"W": map[string]any{"Type": "Pass", "End": true}}}}
	if mc >= 0 {
		leaf["MaxConcurrency"] = mc
	}
	if rapid.Bool().Draw(t, "comment") {
		leaf["Comment"] = rapid.StringMatching(`[a-zA-Z {}":,\[\]é]{0,20}`).Draw(t, "text")
	}
	name := rapid.StringMatching(`[A-Za-z][A-Za-z0-9 _-]{0,12}`).Draw(t, "name")
	path := []string{name}
	states := map[string]any{name: leaf}
	for i := range depth {
		outer := fmt.Sprintf("Outer %d", i)
		var st map[string]any
		if rapid.Bool().Draw(t, "parallel") {
			st = map[string]any{"Type": "Parallel", "End": true, "Branches": []any{
				map[string]any{"StartAt": "Other", "States": map[string]any{"Other": map[string]any{"Type": "Pass", "End": true}}},
				map[string]any{"StartAt": path[0], "States": states},
			}}
		} else {
			st = map[string]any{"Type": "Map", "End": true, "MaxConcurrency": 3, "ItemProcessor": map[string]any{"StartAt": path[0], "States": states}}
		}
		states = map[string]any{outer: st}
		path = append([]string{outer}, path...)
	}
	def := map[string]any{"StartAt": path[0], "States": states}
	if rapid.Bool().Draw(t, "jsonata") {
		def["QueryLanguage"] = "JSONata"
	}
	var b []byte
	switch rapid.IntRange(0, 2).Draw(t, "layout") {
	case 0:
		b, _ = json.Marshal(def)
	case 1:
		b, _ = json.MarshalIndent(def, "", "  ")
	default:
		b, _ = json.MarshalIndent(def, "", "\t")
	}
	return string(b), path, mc
}

// TestSetMaxConcurrencyProperties: wherever the Map sits and however the
// definition is laid out, the edit reads back, changes only its field,
// is idempotent, and writing the old value back restores the bytes.
func TestSetMaxConcurrencyProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		def, path, old := genDefinition(t)
		n := rapid.Int64Range(1, 10000).Draw(t, "n")
		out, err := SetMaxConcurrency(def, path, n)
		if err != nil {
			t.Fatalf("%v\n%s", err, def)
		}
		if got, err := ReadMap(out, path); err != nil || got.Value != n || !got.Set {
			t.Fatalf("read back %+v, %v; want %d", got, err, n)
		}
		var a, b map[string]any
		json.Unmarshal([]byte(def), &a)
		if err := json.Unmarshal([]byte(out), &b); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		m := a
		for i, name := range path {
			st := findState(m, name)
			if i == len(path)-1 {
				st["MaxConcurrency"] = float64(n)
				break
			}
			m = st
		}
		if x, y := canon(a), canon(b); x != y {
			t.Fatalf("more than MaxConcurrency changed:\n%s\n%s", x, y)
		}
		if again, _ := SetMaxConcurrency(out, path, n); again != out {
			t.Fatal("setting the same value twice changed the bytes")
		}
		if old >= 1 {
			if back, _ := SetMaxConcurrency(out, path, old); back != def {
				t.Fatalf("writing %d back did not restore the definition:\n%s\n%s", old, def, back)
			}
		}
		if strings.Count(out, "MaxConcurrency") != strings.Count(def, "MaxConcurrency")+map[bool]int{true: 0, false: 1}[old >= 0] {
			t.Fatal("a MaxConcurrency was added or lost elsewhere")
		}
	})
}

// findState finds a state by name in a scope or in any of a Parallel's
// branches or a Map's item processor directly below it.
func findState(scope map[string]any, name string) map[string]any {
	var scopes []map[string]any
	if _, ok := scope["States"]; ok {
		scopes = append(scopes, scope)
	}
	for _, b := range asSlice(scope["Branches"]) {
		scopes = append(scopes, b.(map[string]any))
	}
	if p, ok := scope["ItemProcessor"].(map[string]any); ok {
		scopes = append(scopes, p)
	}
	for _, sc := range scopes {
		if st, ok := sc["States"].(map[string]any)[name].(map[string]any); ok {
			return st
		}
	}
	return nil
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func canon(v any) string { b, _ := json.Marshal(v); return string(b) }
