package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const selectPolicies = `version: 1
defaults: {region: us-east-1}
targets:
  - name: fns
    kind: lambda-reserved-concurrency
    select: {tags: {autotune: "on"}}
    min: 5
    max: 400
  - name: tables
    kind: dynamodb-provisioned
    capacity: write
    select: {name: "or*"}
    min: 5
    max: 1000
`

func writePolicies(t *testing.T, src string) string {
	p := filepath.Join(t.TempDir(), "policies.yaml")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Selector entries expand from the account: validate counts the targets,
// explain prints one, plan runs each new one in dry-run (its probation).
func TestSelectorsAgainstTheWireFake(t *testing.T) {
	fake := accountFake(t)
	p := writePolicies(t, selectPolicies)
	if code, out, errs := cli(t, "validate", p); code != exitOK || !strings.HasSuffix(out, "valid, 2 target(s)\n") {
		t.Fatalf("validate: exit %d, %q, %q", code, out, errs)
	}
	// Selecting reads names and tags only: no reservation is read for a
	// function the tags leave out, nor for any other.
	if n := len(fake.Calls("GetFunctionConcurrency")); n != 0 {
		t.Errorf("selection read %d reservations", n)
	}
	if code, out, errs := cli(t, "validate", "--offline", p); code != exitOK || !strings.HasSuffix(out, "valid, 0 target(s), and 2 selector entries checked without listing resources\n") {
		t.Fatalf("validate --offline: exit %d, %q, %q", code, out, errs)
	}
	code, out, errs := cli(t, "explain", "-c", p, "tables/orders")
	if code != exitOK || !strings.Contains(out, "# found by the selector entry tables; new to it, it runs in dry-run for 1h0m0s\n") || !strings.Contains(out, "name: tables/orders\n") || !strings.Contains(out, "table: orders\n") || !strings.Contains(out, "ConsumedWriteCapacityUnits") {
		t.Fatalf("explain: exit %d, %q, %q", code, out, errs)
	}
	code, out, errs = cli(t, "once", "-c", p, "--state", filepath.Join(t.TempDir(), "s.json"), "--json")
	if code != exitOK {
		t.Fatalf("once: exit %d, %s", code, errs)
	}
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var rec struct {
			Target, Mode string
			Until        string `json:"probation_until"`
			Applied      bool
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Mode != "dry-run" || rec.Until == "" || rec.Applied {
			t.Errorf("%s: mode %s until %q applied %v; a new resource starts in dry-run", rec.Target, rec.Mode, rec.Until, rec.Applied)
		}
		names = append(names, rec.Target)
	}
	if got := strings.Join(names, " "); got != "fns/orders tables/orders" {
		t.Errorf("targets %q", got)
	}
}

func TestIAMPolicyForSelectors(t *testing.T) {
	accountFake(t)
	p := writePolicies(t, selectPolicies)
	code, out, errs := cli(t, "iam-policy", "-c", p, "--account", "123456789012")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{`"Sid": "SelectByTags"`, `"tag:GetResources"`, `"lambda:ListFunctions"`, `"dynamodb:ListTables"`, `"arn:aws:lambda:us-east-1:123456789012:function:orders"`, `"arn:aws:dynamodb:us-east-1:123456789012:table/orders"`} {
		if !strings.Contains(out, want) {
			t.Errorf("policy lacks %s:\n%s", want, out)
		}
	}
}

// One resource, one target, across a selector and a hand-written target.
func TestSelectorOverlapIsRefused(t *testing.T) {
	accountFake(t)
	p := writePolicies(t, selectPolicies+`  - {name: mine, kind: lambda-reserved-concurrency, function: orders, min: 1, max: 10}
`)
	code, _, errs := cli(t, "validate", p)
	if code != exitUsage || !strings.Contains(errs, "target mine controls the same resource (function orders) as target fns/orders of targets[0] at "+p+":4:5") {
		t.Fatalf("exit %d, %s", code, errs)
	}
}
