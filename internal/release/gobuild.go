package release

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// GoBuilder builds with the Go toolchain: static (CGO_ENABLED=0),
// -trimpath so no local path is recorded, -buildvcs=false because the
// commit is stamped explicitly, and -mod=readonly so a release never
// edits go.mod. It needs no network once the module cache holds go.sum's
// modules (go mod download).
type GoBuilder struct {
	Dir string // the module root
	Go  string // the go command; "" means "go"
}

var _ Builder = GoBuilder{}

// Build runs `go build` for spec.
func (g GoBuilder) Build(ctx context.Context, spec BuildSpec) error {
	goCmd := g.Go
	if goCmd == "" {
		goCmd = "go"
	}
	args := []string{"build", "-trimpath", "-buildvcs=false", "-mod=readonly", "-ldflags", spec.LDFlags, "-o", spec.Out}
	if len(spec.Tags) > 0 {
		args = append(args, "-tags", strings.Join(spec.Tags, ","))
	}
	args = append(args, spec.Package)
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = g.Dir
	// Later entries win: the target platform, and the baseline
	// instruction sets, whatever the caller's environment says.
	cmd.Env = append(os.Environ(),
		"CGO_ENABLED=0", "GOOS="+spec.Platform.OS, "GOARCH="+spec.Platform.Arch,
		"GOAMD64=v1", "GOARM64=v8.0", "GOFLAGS=")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out.Bytes())
	}
	return nil
}
