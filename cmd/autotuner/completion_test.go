package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestCompletionModelHasEveryCommandAndFlag(t *testing.T) {
	model := completionModel(context.Background())
	byName := map[string]compCommand{}
	for _, c := range model {
		byName[c.Name] = c
	}
	for n := range commands {
		if _, ok := byName[n]; !ok {
			t.Errorf("command %s has no completion", n)
		}
	}
	run := byName["run"]
	i := slices.IndexFunc(run.Flags, func(f compFlag) bool { return f.Long == "config" })
	if i < 0 || run.Flags[i].Short != "c" || !run.Flags[i].Value || run.Flags[i].Help != "policies file" {
		t.Errorf("run's --config: %+v", run.Flags)
	}
	if j := slices.IndexFunc(run.Flags, func(f compFlag) bool { return f.Long == "dry-run" }); j < 0 || run.Flags[j].Value {
		t.Errorf("run's --dry-run is missing or takes a value: %+v", run.Flags)
	}
	if c, ok := byName["limiter serve"]; !ok || !slices.ContainsFunc(c.Flags, func(f compFlag) bool { return f.Long == "addr" }) {
		t.Errorf("limiter serve: %+v", c)
	}
}

func TestCompletionUsage(t *testing.T) {
	if code, _, errs := cli(t, "completion"); code != exitUsage || !strings.Contains(errs, "bash, zsh or fish") {
		t.Errorf("no shell: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := cli(t, "completion", "tcsh"); code != exitUsage || !strings.Contains(errs, `"tcsh"`) {
		t.Errorf("tcsh: exit %d, stderr %q", code, errs)
	}
}

// script writes the completion script for shell and returns its path.
func script(t *testing.T, shell string) string {
	t.Helper()
	code, out, errs := cli(t, "completion", shell)
	if code != exitOK || errs != "" {
		t.Fatalf("completion %s: exit %d, stderr %q", shell, code, errs)
	}
	p := filepath.Join(t.TempDir(), "autotuner."+shell)
	if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// inShell runs a snippet in a real shell, which the test skips without.
func inShell(t *testing.T, shell string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath(shell)
	if err != nil {
		t.Skipf("%s is not installed", shell)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"HOME=" + cmd.Dir, "PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", shell, args, err, out)
	}
	return string(out)
}

// candidates is the first word of each line.
func candidates(out string) []string {
	var c []string
	for l := range strings.Lines(out) {
		if w, _, _ := strings.Cut(strings.TrimSpace(l), "\t"); w != "" {
			c = append(c, w)
		}
	}
	slices.Sort(c)
	return c
}

var completionCases = []struct {
	line string // the command line up to the cursor
	want []string
}{
	{"autotuner va", []string{"validate"}},
	{"autotuner run --lis", []string{"--listen", "--listen-public"}},
	{"autotuner plan -", []string{"--audit", "--config", "--dry-run", "--help", "--json", "--state", "--targets", "-c", "-h"}},
	{"autotuner limiter se", []string{"serve"}},
	{"autotuner limiter serve --ad", []string{"--addr", "--addr-public"}},
	{"autotuner completion --h", []string{"--help"}},
}

func TestBashCompletion(t *testing.T) {
	p := script(t, "bash")
	for _, c := range completionCases {
		words := strings.Fields(c.line)
		snippet := `source "$1"; COMP_WORDS=(` + strings.Join(words, " ") + `); COMP_CWORD=` + strconv.Itoa(len(words)-1) + `; _autotuner; printf '%s\n' "${COMPREPLY[@]}"`
		got := candidates(inShell(t, "bash", "--norc", "--noprofile", "-c", snippet, "bash", p))
		if !slices.Equal(got, c.want) {
			t.Errorf("%q: bash offers %q, want %q", c.line, got, c.want)
		}
	}
	// A flag's value completes file names.
	got := inShell(t, "bash", "--norc", "--noprofile", "-c", `source "$1"; touch policies.yaml; COMP_WORDS=(autotuner run -c pol); COMP_CWORD=3; _autotuner; printf '%s\n' "${COMPREPLY[@]}"`, "bash", p)
	if strings.TrimSpace(got) != "policies.yaml" {
		t.Errorf("-c pol: bash offers %q", got)
	}
}

func TestFishCompletion(t *testing.T) {
	p := script(t, "fish")
	for _, c := range completionCases {
		got := candidates(inShell(t, "fish", "--no-config", "-c", `source $argv[1]; complete -C $argv[2]`, p, c.line))
		// fish lists -c and -h as "-c" "-h"; the same set either way.
		if !slices.Equal(got, c.want) {
			t.Errorf("%q: fish offers %q, want %q", c.line, got, c.want)
		}
	}
}

func TestZshCompletionLoads(t *testing.T) {
	p := script(t, "zsh")
	inShell(t, "zsh", "-n", p)
	out := inShell(t, "zsh", "-f", "-c", `autoload -U compinit && compinit -u -D && source $1 && print -r -- $_comps[autotuner]`, "zsh", p)
	if strings.TrimSpace(out) != "_autotuner" {
		t.Errorf("zsh: autotuner completes with %q, want _autotuner", out)
	}
}
