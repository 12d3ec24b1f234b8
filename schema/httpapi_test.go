package schema

import (
	"os"
	"strings"
	"testing"

	"github.com/autotuner/autotuner/config"
)

// An HTTP API policies file (apigatewayv2-stage) loads and validates
// against the schema; a route key or an id of the wrong shape fails both.
func TestHTTPAPIPoliciesAgainstSchema(t *testing.T) {
	s := compile(t, PoliciesFile)
	data, err := os.ReadFile("testdata/httpapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load("testdata/httpapi.yaml"); err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(fromYAML(t, data)); err != nil {
		t.Fatalf("the schema refuses a valid file: %v", err)
	}
	for _, bad := range []struct{ from, to string }{
		{"route: POST /orders", "route: /orders/POST"},
		{"api_id: a1b2c3d4\n    stage: prod\n    min: 50", "api_id: a1/b2\n    stage: prod\n    min: 50"},
	} {
		doc := strings.Replace(string(data), bad.from, bad.to, 1)
		if doc == string(data) {
			t.Fatalf("%q not in the file", bad.from)
		}
		if _, err := config.Parse("bad.yaml", []byte(doc)); err == nil {
			t.Errorf("%s: the validator accepts it", bad.to)
		}
		if err := s.Validate(fromYAML(t, []byte(doc))); err == nil {
			t.Errorf("%s: the schema accepts it", bad.to)
		}
	}
}
