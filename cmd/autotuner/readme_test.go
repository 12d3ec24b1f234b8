package main

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
)

// Every autotuner command line in the README and the operations guide
// names a command that exists, with flags it accepts: a reader who copies
// one never meets "unknown command" or "flag provided but not defined".
func TestDocumentedCommandLinesParse(t *testing.T) {
	model := map[string]compCommand{}
	for _, c := range completionModel(context.Background()) {
		model[c.Name] = c
	}
	seen := 0
	for _, doc := range []string{"../../README.md", "../../docs/operations.md", "../../docs/aws.md"} {
		raw, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		fenced := false
		for l := range strings.Lines(string(raw)) {
			if strings.HasPrefix(strings.TrimSpace(l), "```") {
				fenced = !fenced
				continue
			}
			if !fenced {
				continue
			}
			for _, cmd := range strings.Split(l, "&&") {
				if checkCommandLine(t, doc, strings.TrimSpace(cmd), model) {
					seen++
				}
			}
		}
	}
	if seen < 20 {
		t.Fatalf("only %d autotuner command lines found in the docs", seen)
	}
}

func checkCommandLine(t *testing.T, doc, line string, model map[string]compCommand) bool {
	line, _, _ = strings.Cut(line, "#")
	line = strings.TrimPrefix(strings.TrimSpace(line), "source <(")
	w := strings.Fields(line)
	if len(w) < 2 || w[0] != "autotuner" || strings.HasPrefix(w[1], "-") || w[1] == "COMMAND" {
		return false
	}
	name := w[1]
	c, ok := model[name]
	if !ok {
		t.Errorf("%s: %q: no command %q", doc, line, name)
		return true
	}
	if len(c.Subs) > 0 && len(w) > 2 && slices.Contains(c.Subs, w[2]) {
		name += " " + w[2]
		c = model[name]
	}
	for _, a := range w[2:] {
		if a == ">" || a == "|" || a == ")" || strings.HasPrefix(a, ">") || a == "[flags]" {
			break
		}
		f := strings.Trim(a, "[]")
		if !strings.HasPrefix(f, "-") || f == "-" {
			continue
		}
		f, _, _ = strings.Cut(strings.TrimLeft(f, "-"), "=")
		if !slices.ContainsFunc(c.Flags, func(x compFlag) bool { return x.Long == f || x.Short == f }) {
			t.Errorf("%s: %q: %s has no flag -%s", doc, line, name, f)
		}
	}
	return true
}
