// Command release builds autotuner's release artifacts into a dist folder:
// an archive per platform, the Lambda zips and checksums.txt. `make
// release-snapshot` runs it; see docs/operations.md#release-artifacts.
//
//	go run ./tools/release [-dist dist] [-version V] [-commit C]
//	    [-platforms linux/amd64,...] [-lambda-arches arm64,amd64|none]
//	    [-pkg ./cmd/autotuner] [-lambda-pkg ./cmd/autotuner-lambda]
//
// The version defaults to `git describe --tags --always --dirty`, the
// commit to HEAD, and every archive timestamp to SOURCE_DATE_EPOCH or else
// the commit's time, so a rerun on the same commit gives the same bytes.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/autotuner/autotuner/internal/release"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("release", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dist := fs.String("dist", "dist", "folder to write the artifacts to")
	version := fs.String("version", "", "version to stamp and name artifacts with (default: git describe --tags --always --dirty)")
	commit := fs.String("commit", "", "commit to stamp (default: git rev-parse HEAD)")
	platforms := fs.String("platforms", "", "comma-separated GOOS/GOARCH list (default: every released platform)")
	lambdaArches := fs.String("lambda-arches", "", "comma-separated Lambda architectures, or none (default: amd64,arm64)")
	pkg := fs.String("pkg", "./cmd/autotuner", "main package of the archives' binary")
	lambdaPkg := fs.String("lambda-pkg", "./cmd/autotuner-lambda", "main package of the Lambda bootstrap")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := configure(ctx, flags{
		dist: *dist, version: *version, commit: *commit, platforms: *platforms,
		lambdaArches: *lambdaArches, pkg: *pkg, lambdaPkg: *lambdaPkg,
	})
	if err != nil {
		fmt.Fprintf(stderr, "release: %v\n", err)
		return 2
	}
	cfg.Log = stdout
	if _, err := release.Run(ctx, cfg); err != nil {
		fmt.Fprintf(stderr, "release: %v\n", err)
		return 1
	}
	return 0
}

type flags struct {
	dist, version, commit, platforms, lambdaArches, pkg, lambdaPkg string
}

func configure(ctx context.Context, f flags) (release.Config, error) {
	plats, err := release.ParsePlatforms(f.platforms)
	if err != nil {
		return release.Config{}, err
	}
	arches, err := release.ParseLambdaArches(f.lambdaArches)
	if err != nil {
		return release.Config{}, err
	}
	mtime, err := sourceDate(ctx)
	if err != nil {
		return release.Config{}, err
	}
	return release.Config{
		Dist:          f.dist,
		SourceDir:     ".",
		Version:       orGit(ctx, f.version, "dev", "describe", "--tags", "--always", "--dirty"),
		Commit:        orGit(ctx, f.commit, "unknown", "rev-parse", "HEAD"),
		MTime:         mtime,
		Package:       f.pkg,
		LambdaPackage: f.lambdaPkg,
		Platforms:     plats,
		LambdaArches:  arches,
		Builder:       release.GoBuilder{Dir: "."},
	}, nil
}

// sourceDate is SOURCE_DATE_EPOCH (https://reproducible-builds.org/specs/source-date-epoch/),
// else the commit's time, else a fixed date: never the clock, which would
// make every rerun differ.
func sourceDate(ctx context.Context) (time.Time, error) {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want seconds since 1970", s)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	if s := orGit(ctx, "", "", "log", "-1", "--format=%ct"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.Unix(n, 0).UTC(), nil
		}
	}
	// A zip cannot hold a date before 1980; this one is as arbitrary as any.
	return time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), nil
}

// orGit is given when set, else git's answer, else fallback (a source tree
// without git, such as an unpacked tarball).
func orGit(ctx context.Context, given, fallback string, args ...string) string {
	if given != "" {
		return given
	}
	out, err := exec.CommandContext(ctx, "git", args...).Output()
	if s := strings.TrimSpace(string(out)); err == nil && s != "" {
		return s
	}
	return fallback
}
