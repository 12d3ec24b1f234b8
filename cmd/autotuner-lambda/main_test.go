package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

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
