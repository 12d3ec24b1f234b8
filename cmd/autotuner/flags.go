package main

import (
	"flag"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
)

// The command line keeps the standard library's flag package: it already
// accepts every flag with one dash or two (-c, --config, --help), and
// every subcommand builds its own FlagSet. What it lacks, and this file
// adds, is a help that shows a flag and its alias as one line with
// double-dash names, a --help that prints to stdout, and flags read from
// AUTOTUNER_* environment variables. A CLI library (cobra, kong) would
// give the same at the price of rewriting every subcommand.

// helpFlag is -h/--help: parsing records it instead of failing, so the
// help goes to stdout and the command exits 0.
type helpFlag struct {
	asked bool
	out   io.Writer
}

func (h *helpFlag) String() string   { return "false" }
func (h *helpFlag) IsBoolFlag() bool { return true }
func (h *helpFlag) Set(s string) error {
	h.asked = s != "false"
	return nil
}

func addHelpFlag(fs *flag.FlagSet, out io.Writer) {
	h := &helpFlag{out: out}
	fs.Var(h, "h", "show this help")
	fs.Var(h, "help", "show this help")
}

// helpAsked reports whether -h/--help was given, and where it goes.
func helpAsked(fs *flag.FlagSet) (io.Writer, bool) {
	if f := fs.Lookup("help"); f != nil {
		if h, ok := f.Value.(*helpFlag); ok && h.asked {
			return h.out, true
		}
	}
	return nil, false
}

// flagGroup is one option: a flag and its aliases (-c and --config).
type flagGroup struct {
	names []string // short first
	f     *flag.Flag
}

// flagGroups gathers the flags bound to the same variable: flag.StringVar
// and its siblings make the Value the pointer they were given, so
// aliases share it.
func flagGroups(fs *flag.FlagSet) []flagGroup {
	var out []flagGroup
	byPtr := map[uintptr]int{}
	fs.VisitAll(func(f *flag.Flag) {
		if v := reflect.ValueOf(f.Value); v.Kind() == reflect.Pointer {
			if i, ok := byPtr[v.Pointer()]; ok {
				out[i].names = append(out[i].names, f.Name)
				return
			}
			byPtr[v.Pointer()] = len(out)
		}
		out = append(out, flagGroup{names: []string{f.Name}, f: f})
	})
	for i := range out {
		slices.SortStableFunc(out[i].names, func(a, b string) int { return len(a) - len(b) })
		out[i].f = fs.Lookup(out[i].names[len(out[i].names)-1])
	}
	return out
}

// long is the group's long name (or its only one).
func (g flagGroup) long() string { return g.names[len(g.names)-1] }

func (g flagGroup) isBool() bool {
	b, ok := g.f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// spelled is "-c, --config FILE" or "    --dry-run".
func (g flagGroup) spelled() string {
	var parts []string
	for _, n := range g.names {
		if len(n) == 1 {
			parts = append(parts, "-"+n)
		} else {
			parts = append(parts, "--"+n)
		}
	}
	s := strings.Join(parts, ", ")
	if len(g.names[0]) > 1 {
		s = "    " + s
	}
	if name, _ := flag.UnquoteUsage(g.f); name != "" && !g.isBool() {
		s += " " + name
	}
	return s
}

// printFlags writes the flags as the help shows them: one line per option
// with its aliases, its default, and its environment variable.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	groups := flagGroups(fs)
	width := 0
	for _, g := range groups {
		width = max(width, min(len(g.spelled()), 30))
	}
	var help *flagGroup
	for i, g := range groups {
		if _, ok := g.f.Value.(*helpFlag); ok {
			help = &groups[i]
			continue
		}
		printFlag(w, g, width)
	}
	if help != nil {
		printFlag(w, *help, width)
	}
}

func printFlag(w io.Writer, g flagGroup, width int) {
	_, usage := flag.UnquoteUsage(g.f)
	usage, envNote, _ := strings.Cut(usage, " [$")
	if envNote != "" {
		envNote = " [$" + envNote
	}
	if d := g.f.DefValue; !g.isBool() && d != "" && d != "0" && d != "0s" && !strings.Contains(usage, "(default") {
		if gv, ok := g.f.Value.(flag.Getter); ok && reflect.TypeOf(gv.Get()) == reflect.TypeFor[string]() {
			d = fmt.Sprintf("%q", d)
		}
		usage += " (default " + d + ")"
	}
	usage += envNote
	left := g.spelled()
	if len(left) > width {
		fmt.Fprintf(w, "  %s\n  %-*s  %s\n", left, width, "", usage)
		return
	}
	fmt.Fprintf(w, "  %-*s  %s\n", width, left, usage)
}

// envName is the variable a flag may be read from: AUTOTUNER_ and the
// long name in capitals, dashes as underscores (--lease-ttl:
// AUTOTUNER_LEASE_TTL).
func envName(flagName string) string {
	return "AUTOTUNER_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// bindEnv lets every flag of fs (but help) be set by its AUTOTUNER_*
// variable. It runs before parsing, so a flag on the command line wins
// over the variable, and the variable over the default. The help names
// each variable. A value the flag refuses is an error naming the variable.
func bindEnv(fs *flag.FlagSet, getenv func(string) string) error {
	for _, g := range flagGroups(fs) {
		if _, ok := g.f.Value.(*helpFlag); ok {
			continue
		}
		name := envName(g.long())
		g.f.Usage += " [$" + name + "]"
		v := getenv(name)
		if v == "" {
			continue
		}
		if err := fs.Set(g.long(), v); err != nil {
			want, _ := flag.UnquoteUsage(g.f)
			if g.isBool() {
				want = "true or false"
			}
			return fmt.Errorf("$%s=%q is not a valid value for --%s (want %s)", name, v, g.long(), want)
		}
	}
	return nil
}
