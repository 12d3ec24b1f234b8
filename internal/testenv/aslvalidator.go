package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ASLValidator returns a check of Amazon States Language definitions by
// asl-validator, the npm package (install it with
// `npm ci --prefix tools/asl-validator`; .ci/run does). The check fails a
// definition the validator refuses, with its diagnostics. It skips the
// test when node or the package is missing (fails it under
// AUTOTUNER_REQUIRE_EMULATORS=1).
func ASLValidator(t testing.TB) func(definition string) error {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		Unavailable(t, "node is not installed (asl-validator runs on Node.js)")
	}
	cli := filepath.Join(RepoRoot(t), "tools", "asl-validator", "node_modules", "asl-validator", "dist", "bin", "asl-validator.js")
	if _, err := os.Stat(cli); err != nil {
		Unavailable(t, "asl-validator is not installed; run: npm ci --prefix tools/asl-validator")
	}
	dir := t.TempDir()
	n := 0
	return func(def string) error {
		n++
		path := filepath.Join(dir, fmt.Sprintf("definition-%d.asl.json", n))
		if err := os.WriteFile(path, []byte(def), 0o600); err != nil {
			return err
		}
		return ValidateASLFile(node, cli, path)
	}
}

// ValidateASLFile runs asl-validator on one file.
func ValidateASLFile(node, cli, path string) error {
	var out bytes.Buffer
	cmd := exec.Command(node, cli, "--json-path", path)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("asl-validator refuses %s: %s", filepath.Base(path), strings.TrimSpace(out.String()))
	}
	return nil
}
