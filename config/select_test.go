package config

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeSelector answers selections from a fixed inventory, and remembers
// what it was asked.
type fakeSelector struct {
	found map[Kind][]Selected
	asked []Selection
	err   error
}

func (f *fakeSelector) Select(_ context.Context, s Selection) ([]Selected, error) {
	f.asked = append(f.asked, s)
	return f.found[s.Kind], f.err
}

var _ Selector = (*fakeSelector)(nil)

const selectFile = `version: 1
defaults: {region: eu-west-1, probation: 30m}
targets:
  - name: fns
    kind: lambda-reserved-concurrency
    select: {tags: {autotune: "on"}, name: "orders-*"}
    min: 5
    max: 400
  - name: tables
    kind: dynamodb-provisioned
    capacity: write
    select: {name: "*"}
    probation: 0s
    min: 5
    max: 1000
`

func TestSelectorsExpand(t *testing.T) {
	sel := &fakeSelector{found: map[Kind][]Selected{
		LambdaReservedConcurrency: {{Name: "orders-a", Keys: [][2]string{{"function", "orders-a"}}}, {Name: "orders b", Keys: [][2]string{{"function", "orders b"}}}},
		DynamoDBProvisioned:       {{Name: "orders", Keys: [][2]string{{"table", "orders"}}}},
	}}
	f, err := ParseWith("p.yaml", []byte(selectFile), Options{Selector: sel})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range f.Targets {
		got = append(got, tg.Name+"="+tg.Identity()+"/"+tg.Probation.String())
	}
	want := []string{"fns/orders-a=function orders-a/30m0s", "fns/orders-b=function orders b/30m0s", "tables/orders=table orders write/0s"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
	wantAsked := []Selection{
		{Entry: "fns", Kind: LambdaReservedConcurrency, Region: "eu-west-1", Tags: map[string]string{"autotune": "on"}, Name: "orders-*"},
		{Entry: "tables", Kind: DynamoDBProvisioned, Region: "eu-west-1", Name: "*", Capacity: "write"},
	}
	if diff := cmp.Diff(wantAsked, sel.asked); diff != "" {
		t.Errorf("selections (-want +got):\n%s", diff)
	}
	// Each selected target got the preset, and explain prints it.
	tg := f.Target("fns/orders-a")
	if tg.Signals["busy"] == nil || f.Selectors != 2 || f.Unresolved != 0 {
		t.Errorf("preset signals %v, selectors %d, unresolved %d", names(tg), f.Selectors, f.Unresolved)
	}
	if out, err := tg.Explain(); err != nil || !strings.Contains(string(out), "name: fns/orders-a\n") || !strings.Contains(string(out), "function: orders-a\n") {
		t.Errorf("explain: %v\n%s", err, out)
	}
}

// Without a selector an entry is checked whole on a stand-in and yields
// no target; its mistakes are still found.
func TestSelectorsOffline(t *testing.T) {
	f, err := Parse("p.yaml", []byte(selectFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Targets) != 0 || f.Selectors != 2 || f.Unresolved != 2 {
		t.Errorf("targets %d, selectors %d, unresolved %d", len(f.Targets), f.Selectors, f.Unresolved)
	}
	bad := strings.Replace(selectFile, "max: 400", "max: 0", 1)
	if _, err := Parse("p.yaml", []byte(bad)); err == nil || !strings.Contains(err.Error(), "p.yaml:8:10: targets[0].max: must be at least 1") {
		t.Errorf("err = %v", err)
	}
}

func TestSelectorErrors(t *testing.T) {
	for _, c := range []struct{ name, src, want string }{
		{"identity key", "  - {name: e, kind: lambda-reserved-concurrency, function: f, select: {name: x}, min: 1, max: 2}\n", "targets[0].function: does not go with select"},
		{"empty select", "  - {name: e, kind: lambda-reserved-concurrency, select: {}, min: 1, max: 2}\n", "targets[0].select: needs tags, name or both"},
		{"bad pattern", "  - {name: e, kind: lambda-reserved-concurrency, select: {name: \"[\"}, min: 1, max: 2}\n", "targets[0].select.name: is not a valid pattern"},
		{"kind", "  - {name: e, kind: parameter, select: {name: x}, min: 1, max: 2}\n", `targets[0].kind: kind "parameter" cannot select resources`},
		{"probation alone", "  - {name: e, kind: lambda-reserved-concurrency, function: f, probation: 1h, min: 1, max: 2}\n", "targets[0].probation: only applies to an entry with select"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseWith("p.yaml", []byte("version: 1\ntargets:\n"+c.src), Options{Selector: &fakeSelector{}})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
	_, err := ParseWith("p.yaml", []byte(selectFile), Options{Selector: &fakeSelector{err: errors.New("AccessDenied")}})
	if err == nil || !strings.Contains(err.Error(), "p.yaml:6:13: targets[0].select: selecting resources: AccessDenied") {
		t.Errorf("err = %v", err)
	}
}

// One resource, one target: an overlap names both targets and places.
func TestSelectorOverlap(t *testing.T) {
	src := selectFile + `  - name: orders-writes
    kind: dynamodb-provisioned
    table: orders
    capacity: write
    min: 5
    max: 100
`
	sel := &fakeSelector{found: map[Kind][]Selected{DynamoDBProvisioned: {{Name: "orders", Keys: [][2]string{{"table", "orders"}}}}}}
	_, err := ParseWith("p.yaml", []byte(src), Options{Selector: sel})
	want := "p.yaml:16:5: targets[2]: target orders-writes controls the same resource (table orders write) as target tables/orders of targets[1] at p.yaml:9:5"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
}

func TestDefaultsOfSelection(t *testing.T) {
	f, err := Parse("p.yaml", []byte("version: 1\ntargets:\n  - {name: a, kind: lambda-reserved-concurrency, function: f, min: 1, max: 2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Defaults.DiscoverEvery != 10*time.Minute || f.Defaults.Probation != time.Hour {
		t.Errorf("defaults %+v", f.Defaults)
	}
}
