package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// CFNLint returns a check of CloudFormation templates by cfn-lint, the
// npm package (install it with `npm ci --prefix tools/cfn-lint`; make
// emulators does). The check fails a template the linter refuses, with its
// diagnostics. It skips the test when node or the package is missing
// (fails it under AUTOTUNER_REQUIRE_EMULATORS=1).
//
// cfn-lint 1.9.7 knows plain CloudFormation (resource types, properties,
// intrinsic functions and the names they reference) but the SAM transform
// only as it stood in 2019: use it on plain templates.
func CFNLint(t testing.TB) func(template []byte) error {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		Unavailable(t, "node is not installed (cfn-lint runs on Node.js)")
	}
	cli := filepath.Join(RepoRoot(t), "tools", "cfn-lint", "node_modules", "cfn-lint", "lib", "index.js")
	if _, err := os.Stat(cli); err != nil {
		Unavailable(t, "cfn-lint is not installed; run: npm ci --prefix tools/cfn-lint")
	}
	dir := t.TempDir()
	n := 0
	return func(template []byte) error {
		n++
		path := filepath.Join(dir, fmt.Sprintf("template-%d.json", n))
		if err := os.WriteFile(path, template, 0o600); err != nil {
			return err
		}
		var out bytes.Buffer
		cmd := exec.Command(node, cli, "validate", path)
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		text := ansi.ReplaceAllString(out.String(), "")
		if err != nil {
			return fmt.Errorf("cfn-lint refuses the template: %s", strings.TrimSpace(text))
		}
		if !strings.Contains(text, "Template valid") {
			return fmt.Errorf("cfn-lint said neither valid nor invalid: %s", strings.TrimSpace(text))
		}
		return nil
	}
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")
