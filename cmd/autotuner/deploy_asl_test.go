package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/autotuner/autotuner/internal/testenv"
)

// placeholder is a DefinitionSubstitutions variable, ${Name}.
var placeholder = regexp.MustCompile(`\$\{(\w+)\}`)

// substituteAny fills every ${Name} as a deployment would: names ending in
// Arn with a Lambda function ARN, the others with a plain name.
func substituteAny(def string) string {
	return placeholder.ReplaceAllStringFunc(def, func(m string) string {
		name := placeholder.FindStringSubmatch(m)[1]
		if strings.HasSuffix(name, "Arn") {
			return "arn:aws:lambda:us-east-1:123456789012:function:" + strings.TrimSuffix(name, "Arn")
		}
		return "/autotuner/example/" + name
	})
}

// TestDeployedASLIsValid checks every *.asl.json the repository ships
// under deploy/, among them the rate limiter's acquire-token snippet, with
// asl-validator: a user pastes these into a state machine, and Step
// Functions refuses a definition the validator refuses.
func TestDeployedASLIsValid(t *testing.T) {
	check := testenv.ASLValidator(t)
	root := filepath.Join(testenv.RepoRoot(t), "deploy")
	var files, defs []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(d.Name(), ".asl.json") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		files = append(files, filepath.ToSlash(rel))
		defs = append(defs, substituteAny(string(b)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(files, "ratelimit/acquire-token.asl.json") || len(files) < 3 {
		t.Fatalf("found %v under deploy/, want the acquire-token snippet and the Step Functions examples", files)
	}
	for i, def := range defs {
		if placeholder.MatchString(def) {
			t.Errorf("%s: a placeholder is left after substitution", files[i])
		}
	}
	if err := check(defs...); err != nil {
		t.Errorf("%v: %v", files, err)
	}
}
