package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSkipLineNamesWhatIsMissingAndHowToInstallIt(t *testing.T) {
	got := SkipLine([]Emulator{{"dynalite", "npm ci --prefix tools/dynalite"}, {"aws-lambda-rie", "go install x"}})
	want := "testenv: emulator tests skipped: dynalite, aws-lambda-rie not installed (npm ci --prefix tools/dynalite; go install x); `make test` installs every emulator and runs the whole suite"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestMissingSeesAnInstalledDynalite(t *testing.T) {
	root := t.TempDir()
	has := func() bool {
		for _, e := range Missing(root) {
			if e.Name == "dynalite" {
				return false
			}
		}
		return true
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("without node, Missing reports node instead of dynalite")
	}
	if has() {
		t.Fatal("an empty root has no dynalite")
	}
	cli := filepath.Join(root, "tools", "dynalite", "node_modules", "dynalite", "cli.js")
	if err := os.MkdirAll(filepath.Dir(cli), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cli, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if !has() {
		t.Error("dynalite installed under the root, but reported missing")
	}
}

func TestOnlyTheFirstPackageOfARunAnnounces(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	if !firstInRun() {
		t.Fatal("the first claim must win")
	}
	if firstInRun() {
		t.Fatal("a second claim in the same run must not print again")
	}
}
