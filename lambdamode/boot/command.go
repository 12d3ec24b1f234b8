package boot

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/autotuner/autotuner/lambdamode"
)

// Exit codes, the same as the CLI's.
const (
	ExitOK      = 0
	ExitFailure = 1 // the command ran and something failed
	ExitUsage   = 2 // bad flags, or an invalid policies file
)

// Serve hands the handler to the Lambda runtime and returns when ctx ends.
func Serve(ctx context.Context, h *lambdamode.Handler) {
	lambda.StartWithOptions(lambdamode.Runtime{H: h}, lambda.WithContext(ctx))
}

var _ lambda.Handler = lambdamode.Runtime{}

// Command is one way of starting the Lambda mode: its name in usage lines
// and how it serves the runtime (tests replace Serve).
type Command struct {
	Name    string // "autotuner lambda", "bootstrap"
	Serve   func(ctx context.Context, h *lambdamode.Handler)
	Options Options
}

// Run serves the Lambda runtime, or with --event handles one event here
// and prints the response: 0 when it had no error, 1 when it had, 2 for
// bad flags or input.
func (c Command) Run(ctx context.Context, e Env, args []string) int {
	fs := flag.NewFlagSet(c.Name, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s [--event FILE [--state FILE]]\n\nWithout flags, inside AWS Lambda: serve the runtime.\n\nFlags:\n", c.Name)
		fs.PrintDefaults()
	}
	event := fs.String("event", "", "handle this one event locally, print the response and exit (no Lambda runtime)")
	statePath := fs.String("state", "", "with --event and no "+EnvStateTable+": keep state in this file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	// Outside Lambda the runtime library would only say its variables are
	// missing; say what the user most likely wants instead.
	if *event == "" && e.Getenv("AWS_LAMBDA_RUNTIME_API") == "" {
		fmt.Fprintln(e.Stderr, c.Name+": not inside AWS Lambda (AWS_LAMBDA_RUNTIME_API is not set). "+
			"To handle one event here, pass --event FILE (e.g. testdata/events/scheduled.json; with --state FILE when "+EnvStateTable+" is not set); "+
			"to serve the runtime, deploy it (deploy/sam) or run it under aws-lambda-rie")
		return ExitUsage
	}
	o := c.Options
	o.Local, o.StatePath = *event != "", *statePath
	h, closeFn, err := NewHandler(ctx, e, o)
	if err != nil {
		fmt.Fprintf(e.Stderr, "%s: %v\n", c.Name, err)
		return ExitFailure
	}
	defer closeFn()
	if *event == "" {
		serve := c.Serve
		if serve == nil {
			serve = Serve
		}
		serve(ctx, h)
		return ExitOK
	}
	return c.invokeOnce(ctx, e, h, *event)
}

func (c Command) invokeOnce(ctx context.Context, e Env, h *lambdamode.Handler, path string) int {
	raw, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(e.Stderr, "%s: %v\n", c.Name, err)
		return ExitUsage
	}
	resp, err := h.Invoke(ctx, raw)
	if err != nil {
		fmt.Fprintf(e.Stderr, "%s: %v\n", c.Name, err)
		return ExitFailure
	}
	out, _ := json.MarshalIndent(resp, "", "  ")
	fmt.Fprintln(e.Stdout, string(out))
	if resp.Errors > 0 {
		return ExitFailure
	}
	return ExitOK
}
