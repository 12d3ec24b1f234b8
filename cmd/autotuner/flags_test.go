package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/autotuner/autotuner/config"
)

// cliEnv is cli with environment variables.
func cliEnv(t *testing.T, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), getenv: func(k string) string { return vars[k] }, logger: slog.New(slog.DiscardHandler)}
	code = run(context.Background(), e, args)
	return code, out.String(), errb.String()
}

func TestHelpShowsEachOptionOnceWithDoubleDashes(t *testing.T) {
	for _, cmd := range []string{"run", "plan", "once", "explain", "revert", "record", "iam-policy"} {
		code, out, errs := cli(t, cmd, "--help")
		if code != exitOK || errs != "" {
			t.Fatalf("%s --help: exit %d, stderr %q", cmd, code, errs)
		}
		var config []string
		for l := range strings.Lines(out) {
			if strings.Contains(l, "config") {
				config = append(config, strings.TrimSpace(l))
			}
			if regexp.MustCompile(`^\s+-[a-z][a-z-]+`).MatchString(l) {
				t.Errorf("%s --help: a long flag with one dash: %q", cmd, l)
			}
		}
		if len(config) != 1 || !strings.HasPrefix(config[0], "-c, --config file") || !strings.Contains(config[0], `(default "policies.yaml")`) {
			t.Errorf("%s --help: the config flag's lines: %q", cmd, config)
		}
		if !strings.Contains(out, "-h, --help") {
			t.Errorf("%s --help does not show --help", cmd)
		}
	}
	// -h and -help too; a bad flag gets the error and the help on stderr.
	for _, h := range []string{"-h", "-help", "--help=true"} {
		if code, out, _ := cli(t, "validate", h); code != exitOK || !strings.Contains(out, "Usage: autotuner validate") {
			t.Errorf("validate %s: exit %d, stdout %q", h, code, out)
		}
	}
	code, out, errs := cli(t, "plan", "--bogus")
	if code != exitUsage || out != "" || !strings.Contains(errs, "flag provided but not defined: -bogus") || !strings.Contains(errs, "Usage: autotuner plan") {
		t.Errorf("plan --bogus: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

func TestEveryDaemonFlagNamesItsVariable(t *testing.T) {
	_, out, _ := cli(t, "run", "--help")
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	fs := newFlags(&env{stdout: io.Discard, stderr: io.Discard}, "run", "")
	newRunFlags(fs)
	for _, g := range flagGroups(fs) {
		if g.long() == "help" {
			continue
		}
		v := envName(g.long())
		if !strings.Contains(out, "[$"+v+"]") {
			t.Errorf("run --help does not name $%s for --%s", v, g.long())
		}
		if !strings.Contains(string(doc), "`"+v+"`") {
			t.Errorf("docs/operations.md does not list $%s", v)
		}
	}
}

// parseRun parses the daemon's flags as run does, with vars as the
// environment.
func parseRun(t *rapid.T, vars map[string]string, args []string) *runFlags {
	fs := newFlags(&env{stdout: io.Discard, stderr: io.Discard}, "run", "")
	fs.SetOutput(io.Discard)
	rf := newRunFlags(fs)
	if err := bindEnv(fs, func(k string) string { return vars[k] }); err != nil {
		t.Fatalf("bindEnv: %v", err)
	}
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return rf
}

// A flag on the command line beats its variable, which beats the default,
// for every combination and either spelling.
func TestDaemonFlagPrecedence(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		vars := map[string]string{}
		var args []string
		listen, timeout, cfg, dry := defaultListen, 5*time.Minute, "policies.yaml", false
		if rapid.Bool().Draw(t, "listen env") {
			listen = "127.0.0.1:" + rapid.StringMatching(`[1-9][0-9]{3}`).Draw(t, "env port")
			vars["AUTOTUNER_LISTEN"] = listen
		}
		if rapid.Bool().Draw(t, "listen flag") {
			listen = "127.0.0.1:" + rapid.StringMatching(`[1-9][0-9]{3}`).Draw(t, "flag port")
			args = append(args, rapid.SampledFrom([]string{"-listen", "--listen"}).Draw(t, "dashes"), listen)
		}
		if rapid.Bool().Draw(t, "timeout env") {
			timeout = time.Duration(rapid.IntRange(1, 600).Draw(t, "env s")) * time.Second
			vars["AUTOTUNER_TICK_TIMEOUT"] = timeout.String()
		}
		if rapid.Bool().Draw(t, "timeout flag") {
			timeout = time.Duration(rapid.IntRange(1, 600).Draw(t, "flag s")) * time.Second
			args = append(args, "--tick-timeout="+timeout.String())
		}
		if rapid.Bool().Draw(t, "config env") {
			cfg = rapid.StringMatching(`/etc/[a-z]{1,8}\.yaml`).Draw(t, "env config")
			vars["AUTOTUNER_CONFIG"] = cfg
		}
		if rapid.Bool().Draw(t, "config flag") {
			cfg = rapid.StringMatching(`[a-z]{1,8}\.yaml`).Draw(t, "flag config")
			args = append(args, rapid.SampledFrom([]string{"-c", "--config", "-config"}).Draw(t, "config spelling"), cfg)
		}
		if rapid.Bool().Draw(t, "dry env") {
			dry = rapid.Bool().Draw(t, "env dry")
			vars["AUTOTUNER_DRY_RUN"] = map[bool]string{true: "true", false: "false"}[dry]
		}
		if rapid.Bool().Draw(t, "dry flag") {
			dry = rapid.Bool().Draw(t, "flag dry")
			args = append(args, "--dry-run="+map[bool]string{true: "true", false: "false"}[dry])
		}
		rf := parseRun(t, vars, args)
		if *rf.listen != listen || *rf.tickTimeout != timeout || *rf.cfgPath != cfg || *rf.dry != dry {
			t.Fatalf("env %v, args %q: listen %q, tick-timeout %s, config %q, dry-run %v; want %q, %s, %q, %v",
				vars, args, *rf.listen, *rf.tickTimeout, *rf.cfgPath, *rf.dry, listen, timeout, cfg, dry)
		}
	})
}

func TestDaemonRefusesABadVariable(t *testing.T) {
	for v, val := range map[string]string{"AUTOTUNER_TICK_TIMEOUT": "soon", "AUTOTUNER_DRY_RUN": "yes", "AUTOTUNER_MAX_CONNECTIONS": "many"} {
		code, out, errs := cliEnv(t, map[string]string{v: val}, "run", "-c", example)
		if code != exitUsage || out != "" || !strings.Contains(errs, "$"+v+`="`+val+`" is not a valid value for --`) {
			t.Errorf("%s=%s: exit %d, stderr %q", v, val, code, errs)
		}
	}
	// The variable names the policies file: a broken one is a usage error.
	code, _, errs := cliEnv(t, map[string]string{"AUTOTUNER_CONFIG": "../../config/testdata/bad_kind.yaml"}, "run")
	if code != exitUsage || !strings.Contains(errs, "bad_kind.yaml:4:11") {
		t.Errorf("AUTOTUNER_CONFIG: exit %d, stderr %q", code, errs)
	}
}

// The exit statuses the help and docs/operations.md promise.
func TestExitCodes(t *testing.T) {
	withBackend(t, func(context.Context, *env, *config.File) (*backend, error) {
		return nil, errors.New("no AWS here")
	})
	st := t.TempDir() + "/state.json"
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"validate", example}, exitOK},
		{[]string{"version"}, exitOK},
		{[]string{"run", "--help"}, exitOK},
		{[]string{"plan", "-c", example, "--state", st}, exitFailure},
		{[]string{"plan", "--bogus"}, exitUsage},
		{[]string{"validate", "../../config/testdata/bad_kind.yaml"}, exitUsage},
		{[]string{"explain", "-c", example}, exitUsage},
		{[]string{"frobnicate"}, exitUsage},
	} {
		if code, _, errs := cli(t, c.args...); code != c.want {
			t.Errorf("%q: exit %d, want %d (stderr %q)", c.args, code, c.want, errs)
		}
	}
	_, out, _ := cli(t, "--help")
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"0", "1", "2"} {
		if !regexp.MustCompile(`(?m)^  ` + code + `  \S`).MatchString(out) {
			t.Errorf("autotuner --help does not explain exit status %s", code)
		}
		if !regexp.MustCompile("(?m)^\\| `" + code + "` \\|").MatchString(string(doc)) {
			t.Errorf("docs/operations.md does not explain exit status %s", code)
		}
	}
}

// Environment variables are outside input: any value is either taken as
// the flag would take it or refused with an error naming the variable,
// and a command-line flag still wins.
func FuzzDaemonEnv(f *testing.F) {
	f.Add("127.0.0.1:9000", "5m", "true", "64")
	f.Add("", "soon", "yes", "-1")
	f.Add("off", "1h2m3s", "0", "1e9")
	f.Fuzz(func(t *testing.T, listen, timeout, dry, conns string) {
		vars := map[string]string{"AUTOTUNER_LISTEN": listen, "AUTOTUNER_TICK_TIMEOUT": timeout, "AUTOTUNER_DRY_RUN": dry, "AUTOTUNER_MAX_CONNECTIONS": conns}
		fs := newFlags(&env{stdout: io.Discard, stderr: io.Discard}, "run", "")
		fs.SetOutput(io.Discard)
		rf := newRunFlags(fs)
		err := bindEnv(fs, func(k string) string { return vars[k] })
		if err != nil {
			if !regexp.MustCompile(`^\$AUTOTUNER_(TICK_TIMEOUT|DRY_RUN|MAX_CONNECTIONS)=".*" is not a valid value for --(tick-timeout|dry-run|max-connections) \(want .+\)$`).MatchString(err.Error()) {
				t.Fatalf("error does not name the variable and the flag: %v", err)
			}
			return
		}
		if listen != "" && *rf.listen != listen {
			t.Fatalf("--listen %q from $AUTOTUNER_LISTEN=%q", *rf.listen, listen)
		}
		if err := fs.Parse([]string{"--listen", "127.0.0.1:1", "--tick-timeout", "1s"}); err != nil {
			t.Fatal(err)
		}
		if *rf.listen != "127.0.0.1:1" || *rf.tickTimeout != time.Second {
			t.Fatalf("the command line lost to the environment: %q %s", *rf.listen, *rf.tickTimeout)
		}
	})
}
