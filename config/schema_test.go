package config

import (
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

var indexRE = regexp.MustCompile(`\[\d+\]`)

// schemaAt walks s along a validator path (targets[2].signals.busy).
func schemaAt(s Schema, path string) Schema {
	if path == "" {
		return s
	}
	for _, seg := range strings.Split(path, ".") {
		name := indexRE.ReplaceAllString(seg, "")
		s = property(s, name)
		for range indexRE.FindAllString(seg, -1) {
			s = items(s)
		}
		if s == nil {
			return nil
		}
	}
	return s
}

// branches are s and its anyOf alternatives.
func branches(s Schema) []Schema {
	out := []Schema{s}
	if alts, ok := s["anyOf"].([]any); ok {
		for _, a := range alts {
			out = append(out, a.(Schema))
		}
	}
	return out
}

func property(s Schema, name string) Schema {
	if s == nil {
		return nil
	}
	for _, b := range branches(s) {
		if p, ok := b["properties"].(Schema); ok {
			if v, ok := p[name].(Schema); ok {
				return v
			}
		}
		if a, ok := b["additionalProperties"].(Schema); ok {
			return a
		}
	}
	return nil
}

func items(s Schema) Schema {
	if s == nil {
		return nil
	}
	for _, b := range branches(s) {
		if it, ok := b["items"].(Schema); ok {
			return it
		}
	}
	return nil
}

func propertyNames(s Schema) []string {
	for _, b := range branches(s) {
		if p, ok := b["properties"].(Schema); ok {
			return slices.Sorted(maps.Keys(p))
		}
	}
	return nil
}

// policyFiles are every policies file in the repository.
func policyFiles(t *testing.T) []string {
	var files []string
	for _, g := range []string{"../policies.example.yaml", "testdata/*.yaml", "../sim/policies/*.yaml", "../daemon/testdata/*.yaml", "../deploy/sam/policies.yaml", "../testdata/events/policies.yaml"} {
		m, _ := filepath.Glob(g)
		files = append(files, m...)
	}
	if len(files) < 10 {
		t.Fatalf("policies files: %v", files)
	}
	return files
}

// Every key the validator reads is declared in the schema, at its place.
func TestSchemaDeclaresEveryKeyTheValidatorReads(t *testing.T) {
	s := PoliciesSchema()
	missing := map[string]bool{}
	claimHook = func(path, key string) {
		if schemaAt(s, join(path, key)) == nil {
			missing[indexRE.ReplaceAllString(join(path, key), "[]")] = true
		}
	}
	defer func() { claimHook = nil }()
	for _, f := range policyFiles(t) {
		_, _ = Load(f)
	}
	if len(missing) > 0 {
		t.Errorf("read by the validator, not in the schema: %v", slices.Sorted(maps.Keys(missing)))
	}
}

// At every place the probe reaches, the schema's keys are the keys the
// validator knows there (over every kind and policy).
func TestSchemaKeysAreTheValidatorsKeys(t *testing.T) {
	_, err := Load("testdata/probe.yaml")
	if err == nil {
		t.Fatal("the probe must fail")
	}
	known := regexp.MustCompile(`known keys here: ([^)]*)\)`)
	byPlace := map[string]map[string]bool{}
	paths := map[string]string{}
	for _, e := range err.(Errors) {
		m := known.FindStringSubmatch(e.Msg)
		if m == nil {
			continue
		}
		parent := strings.TrimSuffix(strings.TrimSuffix(e.Path, "zz"), ".")
		place := indexRE.ReplaceAllString(parent, "[]")
		place = regexp.MustCompile(`signals\.[a-z_0-9]+`).ReplaceAllString(place, "signals.*")
		if byPlace[place] == nil {
			byPlace[place] = map[string]bool{}
		}
		paths[place] = parent
		for _, k := range strings.Split(m[1], ", ") {
			byPlace[place][k] = true
		}
	}
	if len(byPlace) < 15 {
		t.Fatalf("only %d places probed", len(byPlace))
	}
	s := PoliciesSchema()
	for place, keys := range byPlace {
		sub := schemaAt(s, paths[place])
		if sub == nil {
			t.Errorf("%s: not in the schema", place)
			continue
		}
		want := slices.Sorted(maps.Keys(keys))
		got := propertyNames(sub)
		if place == "targets[]" || strings.HasPrefix(place, "targets[].signals") {
			// One probe target per kind or source: each knows a subset.
			for _, k := range want {
				if !slices.Contains(got, k) {
					t.Errorf("%s: the validator knows %q, the schema does not", place, k)
				}
			}
			continue
		}
		sort.Strings(got)
		if !slices.Equal(want, got) {
			t.Errorf("%s: validator keys %v, schema keys %v", place, want, got)
		}
	}
	// The target's keys, over all kinds, are exactly the schema's.
	all := map[string]bool{}
	for _, k := range append(identityKeys, "select") {
		all[k] = true
	}
	for k := range byPlace["targets[]"] {
		all[k] = true
	}
	if got, want := propertyNames(schemaAt(s, "targets[0]")), slices.Sorted(maps.Keys(all)); !slices.Equal(got, want) {
		t.Errorf("target keys: schema %v, validator %v", got, want)
	}
	if got := propertyNames(schemaAt(s, "targets[0].policy")); !slices.Equal(got, slices.Sorted(slices.Values(PolicyNames))) {
		t.Errorf("policies: schema %v, validator %v", got, PolicyNames)
	}
}
