package actuators

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/autotuner/autotuner/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files")

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// onlyMaxConcurrencyChanged decodes both definitions and checks that they
// differ in nothing but the Map state's MaxConcurrency, which is want.
func onlyMaxConcurrencyChanged(t *testing.T, before, after string, path []string, want int64) {
	t.Helper()
	var a, b map[string]any
	if err := json.Unmarshal([]byte(before), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(after), &b); err != nil {
		t.Fatalf("the edited definition is not JSON: %v\n%s", err, after)
	}
	mapState(t, a, path)["MaxConcurrency"] = float64(want)
	if d := cmp.Diff(a, b); d != "" {
		t.Errorf("more than MaxConcurrency changed (-want +got):\n%s", d)
	}
}

// mapState walks decoded JSON the way findMap walks spans.
func mapState(t *testing.T, def map[string]any, path []string) map[string]any {
	t.Helper()
	scopes := []map[string]any{def}
	var st map[string]any
	for _, name := range path {
		for _, sc := range scopes {
			if s, ok := sc["States"].(map[string]any)[name].(map[string]any); ok {
				st = s
			}
		}
		scopes = nil
		if br, ok := st["Branches"].([]any); ok {
			for _, b := range br {
				scopes = append(scopes, b.(map[string]any))
			}
		}
		if p, ok := st["ItemProcessor"].(map[string]any); ok {
			scopes = append(scopes, p)
		}
	}
	return st
}

// TestSetMaxConcurrencyGolden edits each sample definition and compares
// the result with its golden file byte for byte: only the one field
// changes, every other byte (layout, key order, number spellings) stays.
func TestSetMaxConcurrencyGolden(t *testing.T) {
	for _, tc := range []struct {
		file string
		path []string
		to   int64
		want MapState
	}{{
		file: "nested-jsonpath", path: []string{"Process", "Fan out"}, to: 25,
		want: MapState{Set: true, Value: 10, QueryLanguage: "JSONPath"},
	}, {
		file: "jsonata-distributed", path: []string{"Items"}, to: 500,
		want: MapState{Distributed: true, QueryLanguage: "JSONata"},
	}} {
		t.Run(tc.file, func(t *testing.T) {
			src := filepath.Join("testdata", "asl", tc.file+".asl.json")
			def := readFile(t, src)
			got, err := ReadMap(def, tc.path)
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Path = tc.path
			diff(t, "the Map state read", tc.want, got)
			out, err := SetMaxConcurrency(def, tc.path, tc.to)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "asl", tc.file+".golden.json")
			if *update {
				os.WriteFile(golden, []byte(out), 0o644)
			}
			if want := readFile(t, golden); out != want {
				t.Errorf("edited definition differs from %s:\n%s", golden, cmp.Diff(want, out))
			}
			onlyMaxConcurrencyChanged(t, def, out, tc.path, tc.to)
			if again, _ := ReadMap(out, tc.path); again.Value != tc.to || again.Effective() != tc.to {
				t.Errorf("read back %+v, want %d", again, tc.to)
			}
		})
	}
}

func TestSetMaxConcurrencyRefusals(t *testing.T) {
	nested := readFile(t, filepath.Join("testdata", "asl", "nested-jsonpath.asl.json"))
	for _, tc := range []struct {
		name, def string
		path      []string
		want      string
	}{
		{"MaxConcurrencyPath", readFile(t, filepath.Join("testdata", "asl", "path.asl.json")), []string{"Fan out"}, "MaxConcurrencyPath \"$.config.limit\"; use mode: parameter"},
		{"JSONata expression", readFile(t, filepath.Join("testdata", "asl", "jsonata-expression.asl.json")), []string{"Fan out"}, "JSONata expression \"{% $states.input.limit %}\"; use mode: parameter"},
		{"not a Map", nested, []string{"Validate"}, "state Validate is a Pass state, not a Map"},
		{"missing", nested, []string{"Process", "Nope"}, `no state "Nope" at Process > Nope`},
		{"top level only", nested, []string{"Fan out"}, `no state "Fan out" at Fan out`},
		{"through a Pass", nested, []string{"Validate", "Fan out"}, "state Validate is a Pass state: only Parallel and Map states hold other states"},
		{"not JSON", `{"States": `, []string{"M"}, "not valid JSON"},
		{"empty path", nested, nil, "the path is empty"},
		{"ambiguous", `{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[{"StartAt":"M","States":{"M":{"Type":"Map"}}},{"StartAt":"M","States":{"M":{"Type":"Map"}}}],"End":true}}}`, []string{"P", "M"}, "ambiguous"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := SetMaxConcurrency(tc.def, tc.path, 5)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to say %q", err, tc.want)
			}
		})
	}
	if _, err := SetMaxConcurrency(nested, []string{"Process", "Fan out"}, 0); err == nil {
		t.Error("MaxConcurrency 0 (no limit) was written")
	}
}

// TestSetMaxConcurrencyInsertsLikeNeighbours checks the layout of an added
// field on one-line and indented objects.
func TestSetMaxConcurrencyInsertsLikeNeighbours(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"StartAt":"M","States":{"M":{"Type":"Map","End":true}}}`, `{"StartAt":"M","States":{"M":{"MaxConcurrency":7,"Type":"Map","End":true}}}`},
		{`{"StartAt":"M","States":{"M":{ "Type": "Map" }}}`, `{"StartAt":"M","States":{"M":{ "MaxConcurrency": 7, "Type": "Map" }}}`},
		{"{\"States\": {\"M\": {\n    \"Type\": \"Map\"\n}}}", "{\"States\": {\"M\": {\n    \"MaxConcurrency\": 7,\n    \"Type\": \"Map\"\n}}}"},
	} {
		got, err := SetMaxConcurrency(tc.in, []string{"M"}, 7)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("SetMaxConcurrency(%s)\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

// FuzzSetMaxConcurrency feeds arbitrary definitions: the editor never
// panics, and whatever it writes is JSON that differs from its input only
// in the one field.
func FuzzSetMaxConcurrency(f *testing.F) {
	for _, name := range []string{"nested-jsonpath", "jsonata-distributed", "path", "jsonata-expression"} {
		b, _ := os.ReadFile(filepath.Join("testdata", "asl", name+".asl.json"))
		f.Add(string(b), "Process", "Fan out", int64(3))
		f.Add(string(b), "Items", "", int64(9))
	}
	f.Add(`{"States":{"M":{"Type":"Map","MaxConcurrency":1e2}}}`, "M", "", int64(4))
	f.Fuzz(func(t *testing.T, def, a, b string, n int64) {
		path := []string{a}
		if b != "" {
			path = append(path, b)
		}
		out, err := SetMaxConcurrency(def, path, n)
		if err != nil {
			return
		}
		var before map[string]any
		if json.Unmarshal([]byte(def), &before) != nil {
			t.Fatalf("an invalid definition was edited: %q", def)
		}
		got, err := ReadMap(out, path)
		if err != nil || got.Value != n {
			t.Fatalf("read back %+v, %v; want %d", got, err, n)
		}
	})
}

// TestGoldenFilesAreValidASL checks every sample and golden definition
// with asl-validator: what the editor writes is a definition Step
// Functions accepts.
func TestGoldenFilesAreValidASL(t *testing.T) {
	check := testenv.ASLValidator(t)
	files, _ := filepath.Glob(filepath.Join("testdata", "asl", "*.json"))
	if len(files) < 6 {
		t.Fatalf("found %d definitions", len(files))
	}
	var defs []string
	for _, f := range files {
		defs = append(defs, readFile(t, f))
	}
	if err := check(defs...); err != nil {
		t.Error(err)
	}
}

// BenchmarkSetMaxConcurrency edits the nested sample: one tick's cost of
// a definition-mode change, beside its AWS calls.
func BenchmarkSetMaxConcurrency(b *testing.B) {
	def, err := os.ReadFile(filepath.Join("testdata", "asl", "nested-jsonpath.asl.json"))
	if err != nil {
		b.Fatal(err)
	}
	path := []string{"Process", "Fan out"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := SetMaxConcurrency(string(def), path, int64(1+i%100)); err != nil {
			b.Fatal(err)
		}
	}
}
