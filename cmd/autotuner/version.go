package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/autotuner/autotuner/internal/buildinfo"
)

func init() {
	register(command{name: "version", summary: "print the version (--long: also the commit and Go version; --json)", run: runVersion})
}

// runVersion prints "autotuner VERSION", one word after the name, so
// scripts can read it; --long and --json add what autotuner_build_info
// exports.
func runVersion(_ context.Context, e *env, args []string) int {
	fs := newFlags(e, "version", "[--long | --json]")
	long := fs.Bool("long", false, "also print the commit and the Go version")
	asJSON := fs.Bool("json", false, `print {"version", "commit", "goversion"} as JSON`)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "autotuner version: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	in := buildinfo.Get()
	in.Version = versionString()
	switch {
	case *asJSON:
		b, _ := json.Marshal(map[string]string{"version": in.Version, "commit": in.Commit, "goversion": in.GoVersion})
		fmt.Fprintf(e.stdout, "%s\n", b)
	case *long:
		fmt.Fprintf(e.stdout, "autotuner %s\n", in)
	default:
		fmt.Fprintf(e.stdout, "autotuner %s\n", in.Version)
	}
	return exitOK
}
