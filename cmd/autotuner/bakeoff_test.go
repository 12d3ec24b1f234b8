package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/autotuner/autotuner/sim"
)

// TestBakeoffReproducible: the report, its headline and its charts are
// byte-identical across runs, and hold every part the issue asks for.
func TestBakeoffReproducible(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "docs", "bakeoff.md")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	read := func() map[string][]byte {
		files := map[string][]byte{}
		filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() {
				b, _ := os.ReadFile(p)
				files[strings.TrimPrefix(p, dir)] = b
			}
			return nil
		})
		return files
	}
	args := []string{"bakeoff", "--out", out, "--scenarios", "steady,brownout", "--seed", "3", "--seeds", "3-4"}
	code, stdout, stderr := cli(t, args...)
	if code != exitOK {
		t.Fatalf("exit %d: %s%s", code, stdout, stderr)
	}
	first := read()
	if code, _, stderr := cli(t, args...); code != exitOK {
		t.Fatalf("second run: exit %d: %s", code, stderr)
	}
	second := read()
	for _, name := range []string{"/docs/bakeoff.md", "/docs/bakeoff-headline.md", "/docs/bakeoff/steady.png", "/docs/bakeoff/brownout.png"} {
		if len(first[name]) == 0 {
			t.Errorf("%s: not written (have %d files)", name, len(first))
		}
		if !bytes.Equal(first[name], second[name]) {
			t.Errorf("%s differs between two runs", name)
		}
	}
	doc := string(first["/docs/bakeoff.md"])
	for _, want := range []string{"--seed 3", "seeds 3–4", "## Headline", "## Goals at a glance", "## brownout", "## steady",
		"| target-tracking |", "| oracle |", "| oracle-causal |", "With the variant **no burst**", "✅ 4/4", "back-pressure cut ≤ 180 s after brownout", "](bakeoff/brownout.png)", "## How the goals are measured"} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if head := string(first["/docs/bakeoff-headline.md"]); !strings.Contains(doc, head) || strings.Count(head, "\n") != 4 {
		t.Errorf("headline not in the report, or not a header, a rule and two rows:\n%s", head)
	}
}

func TestBakeoffUsage(t *testing.T) {
	if code, _, stderr := cli(t, "bakeoff", "--scenarios", "no-such", "--out", filepath.Join(t.TempDir(), "b.md")); code != exitUsage || !strings.Contains(stderr, "no-such") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if code, _, _ := cli(t, "bakeoff", "extra"); code != exitUsage {
		t.Errorf("exit %d for an argument", code)
	}
}

func TestSpliceHeadline(t *testing.T) {
	table := "| a |\n|---|\n| 1 |\n"
	doc := "# R\n\n" + headlineStart + "\nold\n" + headlineEnd + "\n\ntail\n"
	got, err := spliceHeadline([]byte(doc), table)
	if err != nil {
		t.Fatal(err)
	}
	want := "# R\n\n" + headlineStart + "\n" + table + headlineEnd + "\n\ntail\n"
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	for _, tc := range []struct{ doc, err string }{
		{"no markers\n", "no " + headlineStart},
		{headlineStart + "\n", "no " + headlineEnd},
		{headlineEnd + "\n" + headlineStart + "\n", "line 1: " + headlineEnd + " comes before"},
		{headlineStart + "\n" + headlineEnd + "\n" + headlineStart + "\n", "line 3: a second " + headlineStart},
	} {
		if _, err := spliceHeadline([]byte(tc.doc), table); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: err = %v, want %q", tc.doc, err, tc.err)
		}
	}
}

// TestBakeoffReadme: --readme replaces the table between the markers and
// nothing else; a README without markers is refused before any work.
func TestBakeoffReadme(t *testing.T) {
	dir := t.TempDir()
	readme := filepath.Join(dir, "README.md")
	os.WriteFile(readme, []byte("intro\n"+headlineStart+"\nstale\n"+headlineEnd+"\nend\n"), 0o644)
	out := filepath.Join(dir, "bakeoff.md")
	if code, stdout, stderr := cli(t, "bakeoff", "--out", out, "--scenarios", "steady", "--readme", readme); code != exitOK {
		t.Fatalf("exit %d: %s%s", code, stdout, stderr)
	}
	head, _ := os.ReadFile(filepath.Join(dir, "bakeoff-headline.md"))
	got, _ := os.ReadFile(readme)
	if want := "intro\n" + headlineStart + "\n" + string(head) + headlineEnd + "\nend\n"; string(got) != want {
		t.Fatalf("README:\n%s\nwant\n%s", got, want)
	}
	bare := filepath.Join(dir, "BARE.md")
	os.WriteFile(bare, []byte("no markers\n"), 0o644)
	if code, _, stderr := cli(t, "bakeoff", "--out", filepath.Join(dir, "x.md"), "--scenarios", "steady", "--readme", bare); code != exitUsage || !strings.Contains(stderr, "marker") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.md")); err == nil {
		t.Fatal("the report was written although the README was refused")
	}
	// The report itself cannot be the README.
	if code, _, stderr := cli(t, "bakeoff", "--out", readme, "--scenarios", "steady", "--readme", readme); code != exitUsage || !strings.Contains(stderr, "writes itself") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

// TestShippedReadmeHeadline: the README shows the headline that make
// bakeoff generated last, not a hand-edited copy.
func TestShippedReadmeHeadline(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	head, err := os.ReadFile("../../docs/bakeoff-headline.md")
	if err != nil {
		t.Fatal(err)
	}
	want, err := spliceHeadline(readme, string(head))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readme, want) {
		t.Fatal("README.md's headline differs from docs/bakeoff-headline.md: run make bakeoff")
	}
}

// TestShippedHeadlineFresh: docs/bakeoff-headline.md is what the bake-off
// gives today, so a change of the policy cannot leave the published
// numbers behind. `make bakeoff` regenerates it.
func TestShippedHeadlineFresh(t *testing.T) {
	traces := "../../../shared/traces"
	if _, err := os.Stat(traces); err != nil {
		t.Skip("no ../shared/traces beside the repository: the real-trace scenarios cannot run")
	}
	runs, err := sim.RunSuite(t.Context(), sim.SuiteOptions{Seed: 1, TracesDir: traces})
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	writeHeadline(&got, runs)
	want, err := os.ReadFile("../../docs/bakeoff-headline.md")
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Fatalf("docs/bakeoff-headline.md is stale: run make bakeoff\ngot:\n%s\nshipped:\n%s", got.String(), want)
	}
}
