package main

import (
	"context"
	"fmt"

	"github.com/autotuner/autotuner/config"
)

func init() {
	register(command{name: "validate", summary: "check a policies file; every error with its position", run: runValidate})
}

func runValidate(_ context.Context, e *env, args []string) int {
	fs := newFlags(e, "validate", "FILE")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch fs.NArg() {
	case 1:
	case 0:
		fmt.Fprintln(e.stderr, "autotuner validate: name the policies file to check, e.g. autotuner validate policies.yaml")
		fs.Usage()
		return exitUsage
	default:
		fmt.Fprintf(e.stderr, "autotuner validate: one policies file at a time, got %d: %q\n", fs.NArg(), fs.Args())
		fs.Usage()
		return exitUsage
	}
	f, err := config.Load(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return exitUsage
	}
	fmt.Fprintf(e.stdout, "%s: valid, %d target(s)\n", f.Path, len(f.Targets))
	return exitOK
}
