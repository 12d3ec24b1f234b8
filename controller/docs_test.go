package controller_test

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/policy"
)

// jsonKeys lists the JSON field names of a struct type.
func jsonKeys(t reflect.Type) []string {
	var keys []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}

// TestAuditDocsCoverEveryField keeps docs/audit.md in step with the
// record: every JSON field of the record and of what it contains must be
// named there.
func TestAuditDocsCoverEveryField(t *testing.T) {
	var keys []string
	for _, v := range []any{controller.Record{}, controller.Drift{}, policy.Signal{}, policy.Constraints{}, policy.DecreaseQuota{}, policy.Reason{}, policy.Terms{}, policy.GuardStep{}} {
		keys = append(keys, jsonKeys(reflect.TypeOf(v))...)
	}
	// Decision marshals itself: take its keys from its own output.
	b, err := json.Marshal(policy.Decision{})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	for k := range m {
		keys = append(keys, k)
	}
	doc, err := os.ReadFile("../docs/audit.md")
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, k := range keys {
		if !strings.Contains(string(doc), "`"+k+"`") {
			missing = append(missing, k)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("docs/audit.md does not name: %s", strings.Join(slices.Compact(missing), ", "))
	}
}
