package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	args := []string{"bakeoff", "--out", out, "--scenarios", "steady,brownout", "--seed", "3"}
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
	for _, want := range []string{"--seed 3", "## Headline", "## Goals at a glance", "## brownout", "## steady",
		"| target-tracking |", "| oracle |", "back-pressure cut ≤ 180 s after brownout", "](bakeoff/brownout.png)", "## How the goals are measured"} {
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
