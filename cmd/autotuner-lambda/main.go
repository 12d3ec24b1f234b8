// Command autotuner-lambda is autotuner's AWS Lambda bootstrap: the Lambda
// mode alone (lambdamode/boot), without the simulator, the bake-off or
// their plotting code, so the deployment package stays small and the cold
// start short. deploy/sam builds it as the function's bootstrap.
//
// Inside Lambda it is started without arguments and serves the runtime;
// elsewhere `autotuner-lambda --event FILE` handles one event and prints
// the response, as `autotuner lambda --event FILE` does.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/autotuner/autotuner/internal/buildinfo"
	"github.com/autotuner/autotuner/lambdamode/boot"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, boot.Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Logger: newLogger(os.Getenv("AUTOTUNER_LOG_LEVEL"))}, os.Args[1:]))
}

func run(ctx context.Context, e boot.Env, args []string) int {
	if len(args) == 1 && (args[0] == "--version" || args[0] == "-version") {
		fmt.Fprintf(e.Stdout, "autotuner-lambda %s\n", versionString())
		return boot.ExitOK
	}
	return boot.Command{Name: "autotuner-lambda"}.Run(ctx, e, args)
}

// newLogger logs JSON, which the function's JSON log format keeps as
// structured fields.
func newLogger(level string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil || level == "" {
		lv = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))
}

// versionString is the stamped release version (internal/buildinfo, set
// by the release build), else what the Go toolchain recorded, else "dev".
func versionString() string {
	return buildinfo.Get().Version
}
