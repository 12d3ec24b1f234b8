package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/autotuner/autotuner/internal/buildinfo"
	"github.com/autotuner/autotuner/lambdamode/boot"
)

func TestRunVersionAndUsage(t *testing.T) {
	var out, errb bytes.Buffer
	e := boot.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if code := run(context.Background(), e, []string{"--version"}); code != boot.ExitOK || !strings.HasPrefix(out.String(), "autotuner-lambda ") {
		t.Errorf("--version: exit %d, %q", code, out.String())
	}
	// Outside Lambda, without --event, it says what to do instead.
	if code := run(context.Background(), e, nil); code != boot.ExitUsage || !strings.Contains(errb.String(), "autotuner-lambda: not inside AWS Lambda") {
		t.Errorf("outside Lambda: exit %d, %q", code, errb.String())
	}
	errb.Reset()
	if code := run(context.Background(), e, []string{"--help"}); code != boot.ExitOK || !strings.Contains(errb.String(), "Usage: autotuner-lambda") {
		t.Errorf("--help: exit %d, %q", code, errb.String())
	}
}

// The release build stamps internal/buildinfo, and the bootstrap reports
// that version, as the CLI does.
func TestVersionIsTheStampedOne(t *testing.T) {
	old := buildinfo.Version
	t.Cleanup(func() { buildinfo.Version = old })
	buildinfo.Version = "v1.2.3"
	var out bytes.Buffer
	e := boot.Env{Stdout: &out, Stderr: io.Discard, Getenv: func(string) string { return "" }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if code := run(context.Background(), e, []string{"--version"}); code != boot.ExitOK || out.String() != "autotuner-lambda v1.2.3\n" {
		t.Errorf("--version: exit %d, %q", code, out.String())
	}
}
