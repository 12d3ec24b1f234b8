package main

import (
	"context"
	"fmt"

	"github.com/autotuner/autotuner/config"
)

func init() {
	register(command{name: "explain", summary: "print a target as it runs: its kind's preset and the defaults filled in", run: runExplain})
}

func runExplain(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "explain", "[-c policies.yaml] TARGET")
	cfgPath := configFlag(fs)
	offline := fs.Bool("offline", false, "do not evaluate selector entries against AWS")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitUsage
	}
	f, err := loadPolicies(ctx, e, *cfgPath, *offline)
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return exitUsage
	}
	t := f.Target(fs.Arg(0))
	if t == nil {
		fmt.Fprintf(e.stderr, "%s: no target named %q (targets: %s)\n", f.Path, fs.Arg(0), targetNames(f))
		return exitUsage
	}
	out, err := t.Explain()
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return exitFailure
	}
	fmt.Fprintf(e.stdout, "# %s, target %s: %s\n", f.Path, t.Name, t.Identity())
	if t.Entry != "" {
		fmt.Fprintf(e.stdout, "# found by the selector entry %s; new to it, it runs in dry-run for %s\n", t.Entry, t.Probation)
	}
	_, _ = e.stdout.Write(out)
	return exitOK
}

func targetNames(f *config.File) string {
	s := ""
	for i, t := range f.Targets {
		if i > 0 {
			s += ", "
		}
		s += t.Name
	}
	return s
}
