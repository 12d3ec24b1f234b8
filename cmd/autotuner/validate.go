package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/autotuner/autotuner/config"
)

func init() {
	register(command{name: "validate", summary: "check a policies file; every error with its position", run: runValidate})
}

func runValidate(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "validate", "[--offline] FILE")
	offline := fs.Bool("offline", false, "check selector entries alone, without listing their resources in AWS")
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
	f, err := loadPolicies(ctx, e, fs.Arg(0), *offline)
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		var ce config.Errors
		if errors.As(err, &ce) {
			return exitUsage
		}
		return exitFailure
	}
	fmt.Fprintf(e.stdout, "%s: valid, %d target(s)", f.Path, len(f.Targets))
	if f.Unresolved > 0 {
		fmt.Fprintf(e.stdout, ", and %d selector entr%s checked without listing resources", f.Unresolved, map[bool]string{true: "y", false: "ies"}[f.Unresolved == 1])
	}
	fmt.Fprintln(e.stdout)
	return exitOK
}
