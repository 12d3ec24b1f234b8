package release

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	Cmd  string // upper case: FROM, RUN, ...
	Args string
	Line int
}

// stage is the instructions from one FROM to the next.
type stage struct {
	From         instruction
	Instructions []instruction
}

// parseDockerfile reads the subset of the Dockerfile syntax the file uses:
// comments, backslash continuations, one instruction a line.
// https://docs.docker.com/reference/dockerfile/#format
func parseDockerfile(t *testing.T, text string) []stage {
	t.Helper()
	var stages []stage
	var cur strings.Builder
	start := 0
	for i, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		cont := strings.HasSuffix(trimmed, `\`)
		cur.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
		if cont {
			continue
		}
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		cur.Reset()
		in := instruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args), Line: start}
		if in.Cmd == "FROM" {
			stages = append(stages, stage{From: in})
			continue
		}
		if len(stages) == 0 {
			if in.Cmd != "ARG" {
				t.Fatalf("Dockerfile:%d: %s before the first FROM", in.Line, in.Cmd)
			}
			continue
		}
		stages[len(stages)-1].Instructions = append(stages[len(stages)-1].Instructions, in)
	}
	if cur.Len() != 0 {
		t.Fatal("Dockerfile ends inside a continuation")
	}
	return stages
}

func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.Instructions {
		if in.Cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

func (s stage) declaresArg(name string) bool {
	for _, in := range s.all("ARG") {
		if n, _, _ := strings.Cut(in.Args, "="); n == name {
			return true
		}
	}
	return false
}

func readRepoFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDockerfileCrossCompilesOnTheBuildPlatform(t *testing.T) {
	stages := parseDockerfile(t, readRepoFile(t, "deploy/docker/Dockerfile"))
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a build stage and a runtime stage", len(stages))
	}
	build := stages[0]
	if !strings.HasPrefix(build.From.Args, "--platform=$BUILDPLATFORM ") {
		t.Errorf("Dockerfile:%d: build stage is %q, want FROM --platform=$BUILDPLATFORM", build.From.Line, build.From.Args)
	}
	for _, arg := range []string{"TARGETOS", "TARGETARCH", "VERSION", "REVISION"} {
		if !build.declaresArg(arg) {
			t.Errorf("build stage does not declare ARG %s", arg)
		}
	}
	var goBuild string
	for _, in := range build.all("RUN") {
		if strings.Contains(in.Args, "go build") {
			goBuild = in.Args
		}
	}
	for _, want := range []string{
		"GOOS=${TARGETOS", "GOARCH=${TARGETARCH", "CGO_ENABLED=0", "-trimpath",
		"-X " + BuildInfoPackage + ".Version=${VERSION}",
		"-X " + BuildInfoPackage + ".Commit=${REVISION}",
		"./cmd/autotuner",
	} {
		if !strings.Contains(goBuild, want) {
			t.Errorf("the go build step lacks %q: %s", want, goBuild)
		}
	}
}

var labelPattern = regexp.MustCompile(`(org\.opencontainers\.image\.[a-z]+)="([^"]*)"`)

func TestDockerfileRuntimeStage(t *testing.T) {
	stages := parseDockerfile(t, readRepoFile(t, "deploy/docker/Dockerfile"))
	final := stages[len(stages)-1]
	if strings.Contains(final.From.Args, "--platform=$BUILDPLATFORM") {
		t.Error("the runtime stage must be of the target platform")
	}
	labels := map[string]string{}
	for _, in := range final.all("LABEL") {
		for _, m := range labelPattern.FindAllStringSubmatch(in.Args, -1) {
			labels[m[1]] = m[2]
		}
	}
	want := map[string]string{
		"org.opencontainers.image.title":    "autotuner",
		"org.opencontainers.image.licenses": "Apache-2.0",
		"org.opencontainers.image.version":  "${VERSION}",
		"org.opencontainers.image.revision": "${REVISION}",
		"org.opencontainers.image.created":  "${CREATED}",
	}
	for k, v := range want {
		if labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, labels[k], v)
		}
	}
	for _, k := range []string{"org.opencontainers.image.description", "org.opencontainers.image.source"} {
		if labels[k] == "" {
			t.Errorf("label %s missing", k)
		}
	}
	// An ARG declared in another stage is empty here: the label would be too.
	for _, arg := range []string{"VERSION", "REVISION", "CREATED"} {
		if !final.declaresArg(arg) {
			t.Errorf("runtime stage uses ${%s} without its own ARG", arg)
		}
	}
	users := final.all("USER")
	if len(users) == 0 {
		t.Fatal("runtime stage has no USER: it would run as root")
	}
	if u := strings.SplitN(users[len(users)-1].Args, ":", 2)[0]; u == "root" || u == "0" {
		t.Errorf("runtime stage runs as %q", u)
	}
}

// The daemon's endpoint is loopback-only unless told otherwise
// (docs/operations.md); the container's listen on all its interfaces is
// the documented exception, and needs --listen-public.
func TestDockerfileListenMatchesTheEndpointRules(t *testing.T) {
	stages := parseDockerfile(t, readRepoFile(t, "deploy/docker/Dockerfile"))
	ops := readRepoFile(t, "docs/operations.md")
	for _, s := range stages {
		for _, in := range s.Instructions {
			if !strings.Contains(in.Args, "0.0.0.0") {
				continue
			}
			if in.Cmd != "CMD" || !strings.Contains(in.Args, `"--listen-public"`) {
				t.Errorf("Dockerfile:%d: %s listens on 0.0.0.0 without --listen-public", in.Line, in.Cmd)
			}
			if !strings.Contains(ops, "0.0.0.0:9107 --listen-public") || !strings.Contains(ops, "-p 127.0.0.1:9107:9107") {
				t.Error("docs/operations.md does not document the container's listen address and how to publish it")
			}
		}
	}
}

// dockerignored applies .dockerignore's rules to a path of the build
// context: the last matching pattern wins, "!" re-includes, and a pattern
// that matches a folder excludes what it holds.
// https://docs.docker.com/build/concepts/context/#dockerignore-files
func dockerignored(t *testing.T, rules []string, path string) bool {
	t.Helper()
	excluded := false
	for _, rule := range rules {
		neg := strings.HasPrefix(rule, "!")
		pattern := filepath.ToSlash(filepath.Clean(strings.TrimPrefix(strings.TrimPrefix(rule, "!"), "/")))
		parts := strings.Split(path, "/")
		for i := 1; i <= len(parts); i++ {
			ok, err := filepath.Match(pattern, strings.Join(parts[:i], "/"))
			if err != nil {
				t.Fatalf(".dockerignore: %q: %v", rule, err)
			}
			if ok {
				excluded = !neg
				break
			}
		}
	}
	return excluded
}

func TestDockerignore(t *testing.T) {
	var rules []string
	for _, line := range strings.Split(readRepoFile(t, ".dockerignore"), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			rules = append(rules, line)
		}
	}
	for _, p := range []string{
		".git/HEAD", "dist/checksums.txt", ".bin/aws-lambda-rie",
		"tools/dynalite/node_modules/dynalite/index.js", "tools/asl-validator/node_modules/x/package.json",
	} {
		if !dockerignored(t, rules, p) {
			t.Errorf("%s is sent to the build", p)
		}
	}
	// What the build stage copies and compiles must reach it.
	for _, p := range []string{
		"go.mod", "go.sum", "LICENSE", "cmd/autotuner/main.go", "internal/buildinfo/buildinfo.go",
		"tools/release/main.go", "deploy/docker/Dockerfile",
	} {
		if dockerignored(t, rules, p) {
			t.Errorf("%s is left out of the build", p)
		}
	}
}
