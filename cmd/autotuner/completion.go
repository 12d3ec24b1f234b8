package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/template"
)

func init() {
	register(command{name: "completion", summary: "print a shell completion script: bash, zsh or fish", run: runCompletion})
}

const completionHelp = `bash|zsh|fish

Load it for this shell, or install it for every new one:
  bash:  source <(autotuner completion bash)
         autotuner completion bash > /etc/bash_completion.d/autotuner
  zsh:   autotuner completion zsh > "${fpath[1]}/_autotuner"   (then compinit)
  fish:  autotuner completion fish > ~/.config/fish/completions/autotuner.fish`

func runCompletion(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "completion", completionHelp)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(e.stderr, "autotuner completion: name one shell: bash, zsh or fish")
		fs.Usage()
		return exitUsage
	}
	t, ok := completionScripts[fs.Arg(0)]
	if !ok {
		fmt.Fprintf(e.stderr, "autotuner completion: no completion for shell %q; bash, zsh and fish have one\n", fs.Arg(0))
		return exitUsage
	}
	if err := t.Execute(e.stdout, completionModel(ctx)); err != nil {
		fmt.Fprintf(e.stderr, "autotuner completion: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// compCommand is what a script completes for one command (or one
// subcommand, as "limiter serve").
type compCommand struct {
	Name, Summary string
	Subs          []string // subcommand names
	Flags         []compFlag
}

type compFlag struct {
	Short, Long, Help string
	Value             bool // takes a value
}

// completionModel asks every command for its flags, by running it with
// --help and an environment that keeps the flag sets and discards the
// output: the scripts cannot drift from the flags the commands parse.
func completionModel(ctx context.Context) []compCommand {
	sets := map[string]*flag.FlagSet{}
	e := &env{stdout: io.Discard, stderr: io.Discard, stdin: strings.NewReader(""),
		getenv: func(string) string { return "" }, logger: slog.New(slog.DiscardHandler),
		onFlags: func(name string, fs *flag.FlagSet) { sets[name] = fs }}
	var out []compCommand
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range commands {
			if !yield(n) {
				return
			}
		}
	}) {
		c := commands[name]
		c.run(ctx, e, []string{"--help"})
		for _, s := range c.subcommands {
			c.run(ctx, e, []string{s, "--help"})
		}
		out = append(out, compCommand{Name: name, Summary: c.summary, Subs: c.subcommands, Flags: compFlags(sets[name])})
		for _, s := range c.subcommands {
			out = append(out, compCommand{Name: name + " " + s, Flags: compFlags(sets[name+" "+s])})
		}
	}
	return out
}

func compFlags(fs *flag.FlagSet) []compFlag {
	if fs == nil {
		return nil
	}
	var out []compFlag
	for _, g := range flagGroups(fs) {
		f := compFlag{Long: g.long(), Value: !g.isBool()}
		if len(g.names[0]) == 1 {
			f.Short = g.names[0]
		}
		usage, _, _ := strings.Cut(g.f.Usage, " [$") // the help without its variable
		_, f.Help = flag.UnquoteUsage(&flag.Flag{Usage: usage, Value: g.f.Value})
		out = append(out, f)
	}
	return out
}

// quoting for each shell's single-quoted strings and zsh's _arguments specs.
var completionFuncs = template.FuncMap{
	"sq": func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" },
	"zspec": func(s string) string {
		r := strings.NewReplacer("[", `\[`, "]", `\]`, ":", `\:`)
		return r.Replace(s)
	},
	"fishq": func(s string) string { return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'" },
	"flagwords": func(fs []compFlag) string {
		var w []string
		for _, f := range fs {
			if f.Short != "" {
				w = append(w, "-"+f.Short)
			}
			w = append(w, "--"+f.Long)
		}
		return strings.Join(w, " ")
	},
	"valueflags": func(fs []compFlag) string {
		var w []string
		for _, f := range fs {
			if f.Value {
				if f.Short != "" {
					w = append(w, "-"+f.Short)
				}
				w = append(w, "--"+f.Long)
			}
		}
		return strings.Join(w, " ")
	},
	"top": func(cs []compCommand) []compCommand {
		return slices.DeleteFunc(slices.Clone(cs), func(c compCommand) bool { return strings.Contains(c.Name, " ") })
	},
	"first": func(s string) string { a, _, _ := strings.Cut(s, " "); return a },
	"rest":  func(s string) string { _, b, _ := strings.Cut(s, " "); return b },
	"join":  strings.Join,
}

var completionScripts = map[string]*template.Template{
	"bash": template.Must(template.New("bash").Funcs(completionFuncs).Parse(bashCompletion)),
	"zsh":  template.Must(template.New("zsh").Funcs(completionFuncs).Parse(zshCompletion)),
	"fish": template.Must(template.New("fish").Funcs(completionFuncs).Parse(fishCompletion)),
}
