// Command autotuner keeps AWS throttling limits at the sweet spot: it reads
// CloudWatch, decides with a damped, bounded policy and applies the result
// to Lambda, API Gateway and DynamoDB limits. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/term"

	"github.com/autotuner/autotuner/internal/buildinfo"
)

// version may be set at build time with -ldflags "-X main.version=…";
// release builds set internal/buildinfo.Version instead, which the daemon's
// autotuner_build_info also reports.
var version = ""

func versionString() string {
	if version != "" {
		return version
	}
	return buildinfo.Get().Version
}

// command is one subcommand. Each lives in its own file and registers
// itself, so commands are added without touching this one.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *env, args []string) int
	// subcommands, for shell completion ("limiter serve", ...).
	subcommands []string
}

var commands = map[string]command{}

func register(c command) { commands[c.name] = c }

// env is what a command may touch; tests substitute every field.
type env struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	getenv         func(string) string
	logger         *slog.Logger
	isTerminal     bool
	// onFlags, when set, sees each command's flag set as it is made
	// (shell completion lists them).
	onFlags func(command string, fs *flag.FlagSet)
}

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the command ran and something failed
	exitUsage   = 2 // bad flags, or an invalid policies file
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tty := term.IsTerminal(int(os.Stderr.Fd()))
	e := &env{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin, getenv: os.Getenv, isTerminal: tty}
	e.logger = newLogger(os.Stderr, tty, os.Getenv("AUTOTUNER_LOG_LEVEL"))
	if version != "" && buildinfo.Version == "dev" {
		buildinfo.Version = version // an older build script's -X main.version
	}
	os.Exit(run(ctx, e, os.Args[1:]))
}

// newLogger logs text on a terminal and JSON otherwise.
func newLogger(w io.Writer, tty bool, level string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil || level == "" {
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if tty {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func run(ctx context.Context, e *env, args []string) int {
	if hook := autoCommand(e); hook != "" && (len(args) == 0 || args[0] != hook) {
		args = append([]string{hook}, args...)
	}
	if len(args) == 0 {
		usage(e.stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		usage(e.stdout)
		return exitOK
	case "-version", "--version":
		args = append([]string{"version"}, args[1:]...)
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "autotuner: unknown command %q\n\n", args[0])
		usage(e.stderr)
		return exitUsage
	}
	return c.run(ctx, e, args[1:])
}

// autoCommand picks a command from the environment: inside AWS Lambda the
// binary serves the Lambda runtime whatever it is called with.
var autoCommand = func(e *env) string { return "" }

func usage(w io.Writer) {
	fmt.Fprintf(w, "autotuner %s: closed-loop tuning of AWS throttling limits\n\nUsage: autotuner COMMAND [flags]\n\nCommands:\n", versionString())
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-11s %s\n", n, commands[n].summary)
	}
	fmt.Fprint(w, usageFooter)
}

const usageFooter = `
Run 'autotuner COMMAND --help' for a command's flags; 'autotuner --version' for the version.
Flags take one dash or two (-c, --config). The daemon's flags can also be set
by AUTOTUNER_* variables, named in 'autotuner run --help'. Shell completion:
'autotuner completion bash|zsh|fish'.

Exit status:
  0  success
  1  the command ran and something failed (AWS unreachable, a target's error)
  2  bad flags or arguments, or an invalid policies file
`

// newFlags makes a command's flag set with a --help that prints usage.
func newFlags(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: autotuner %s %s\n\nFlags:\n", name, synopsis)
		printFlags(fs.Output(), fs)
	}
	addHelpFlag(fs, e.stdout)
	if e.onFlags != nil {
		e.onFlags(name, fs)
	}
	return fs
}

// parseFlags parses and maps --help to exit 0 (the help on stdout) and
// bad flags to exit 2 (the error and the help on stderr).
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if w, asked := helpAsked(fs); asked {
		old := fs.Output()
		fs.SetOutput(w)
		fs.Usage()
		fs.SetOutput(old)
		return exitOK, false
	}
	return 0, true
}

// configFlag registers -c/--config with the default path.
func configFlag(fs *flag.FlagSet) *string {
	p := new(string)
	fs.StringVar(p, "c", "policies.yaml", "policies `file`")
	fs.StringVar(p, "config", "policies.yaml", "policies `file`")
	return p
}

func joinLines(s []string) string { return strings.Join(s, "\n") }
