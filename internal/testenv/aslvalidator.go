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
//
// Several definitions given at once are checked by one run of the
// validator: starting Node.js is most of its cost.
func ASLValidator(t testing.TB) func(definitions ...string) error {
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
	return func(defs ...string) error {
		var paths []string
		for _, def := range defs {
			n++
			path := filepath.Join(dir, fmt.Sprintf("definition-%d.asl.json", n))
			if err := os.WriteFile(path, []byte(def), 0o600); err != nil {
				return err
			}
			paths = append(paths, path)
		}
		return ValidateASLFiles(node, cli, paths...)
	}
}

// ValidateASLFiles runs asl-validator once on the files.
func ValidateASLFiles(node, cli string, paths ...string) error {
	args := []string{cli}
	for _, p := range paths {
		args = append(args, "--json-path", p)
	}
	var out bytes.Buffer
	cmd := exec.Command(node, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("asl-validator refuses: %s", strings.TrimSpace(out.String()))
	}
	return nil
}
