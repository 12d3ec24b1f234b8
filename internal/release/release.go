package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// BuildInfoPackage is the package whose Version and Commit the linker
// stamps (-ldflags -X); the Dockerfile names the same path.
const BuildInfoPackage = "github.com/autotuner/autotuner/internal/buildinfo"

// DocFiles are copied from the source folder into every platform archive.
var DocFiles = []string{"LICENSE", "README.md", "policies.example.yaml"}

// LambdaTags are the build tags of the Lambda bootstrap: lambda.norpc drops
// the Go 1.x runtime's RPC server, which provided.al2023 never uses
// (https://docs.aws.amazon.com/lambda/latest/dg/golang-package.html).
var LambdaTags = []string{"lambda.norpc"}

// BuildSpec is one binary to build.
type BuildSpec struct {
	Package  string // the main package, for example ./cmd/autotuner
	Platform Platform
	Tags     []string
	LDFlags  string
	Out      string // the file to write
}

// Builder compiles one binary. GoBuilder runs the Go toolchain; the
// release's own tests also use a fake that writes a marker file.
type Builder interface {
	Build(ctx context.Context, spec BuildSpec) error
}

// Config is one release run.
type Config struct {
	Dist          string    // folder the artifacts go to; created if missing
	SourceDir     string    // the repository root, where DocFiles are read
	Version       string    // names the artifacts; stamped into buildinfo.Version
	Commit        string    // stamped into buildinfo.Commit
	MTime         time.Time // every archive entry's time (SOURCE_DATE_EPOCH)
	Package       string    // the CLI's main package
	LambdaPackage string    // the main package that becomes the Lambda bootstrap
	Platforms     []Platform
	LambdaArches  []string
	Builder       Builder
	Log           io.Writer // progress, one line an artifact; nil for none
}

// Result lists what a run wrote into Dist, sorted, checksums.txt last.
type Result struct {
	Artifacts []string
}

// Run builds every artifact of cfg into cfg.Dist, then checksums.txt. The
// artifacts a previous run left in Dist are removed first; nothing else
// there is touched.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.check(); err != nil {
		return Result{}, err
	}
	if err := prepareDist(cfg.Dist); err != nil {
		return Result{}, err
	}
	work, err := os.MkdirTemp(cfg.Dist, ".build-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(work)
	var names []string
	for _, p := range cfg.Platforms {
		name, err := cfg.platformArchive(ctx, work, p)
		if err != nil {
			return Result{}, fmt.Errorf("%s: %w", p, err)
		}
		names = append(names, name)
	}
	for _, arch := range cfg.LambdaArches {
		name, err := cfg.lambdaZip(ctx, work, arch)
		if err != nil {
			return Result{}, fmt.Errorf("lambda %s: %w", arch, err)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	if err := WriteChecksums(cfg.Dist, names); err != nil {
		return Result{}, err
	}
	cfg.logf("%s\n", ChecksumsName)
	return Result{Artifacts: append(names, ChecksumsName)}, nil
}

func (cfg Config) check() error {
	var errs []error
	if cfg.Dist == "" {
		errs = append(errs, errors.New("no dist folder"))
	}
	if err := CheckVersion(cfg.Version); err != nil {
		errs = append(errs, err)
	}
	if strings.ContainsAny(cfg.Commit, " \t\n'\"") {
		errs = append(errs, fmt.Errorf("commit %q: no spaces or quotes", cfg.Commit))
	}
	if cfg.Builder == nil {
		errs = append(errs, errors.New("no builder"))
	}
	if len(cfg.Platforms) > 0 && cfg.Package == "" {
		errs = append(errs, errors.New("no main package for the archives"))
	}
	if len(cfg.LambdaArches) > 0 && cfg.LambdaPackage == "" {
		errs = append(errs, errors.New("no main package for the Lambda bootstrap"))
	}
	for _, name := range DocFiles {
		if _, err := os.Stat(filepath.Join(cfg.SourceDir, name)); err != nil {
			errs = append(errs, fmt.Errorf("%s, which every archive holds: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// isArtifact says whether a name in Dist is one a run writes, and so one
// the next run may remove.
func isArtifact(name string) bool {
	return name == ChecksumsName || strings.HasPrefix(name, ".build-") || strings.HasPrefix(name, ".partial-") ||
		strings.HasPrefix(name, ProjectName+"_") || strings.HasPrefix(name, ProjectName+"-lambda_")
}

func prepareDist(dist string) error {
	if err := os.MkdirAll(dist, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(dist)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if isArtifact(e.Name()) {
			if err := os.RemoveAll(filepath.Join(dist, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

func (cfg Config) ldflags() string {
	return fmt.Sprintf("-s -w -X %s.Version=%s -X %s.Commit=%s", BuildInfoPackage, cfg.Version, BuildInfoPackage, cfg.Commit)
}

// platformArchive builds the binary for p and packs it with DocFiles.
func (cfg Config) platformArchive(ctx context.Context, work string, p Platform) (string, error) {
	bin := filepath.Join(work, p.OS+"_"+p.Arch, BinaryName(p))
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	spec := BuildSpec{Package: cfg.Package, Platform: p, LDFlags: cfg.ldflags(), Out: bin}
	if err := cfg.Builder.Build(ctx, spec); err != nil {
		return "", err
	}
	entries := []Entry{{Name: BinaryName(p), Src: bin, Mode: 0o755}}
	for _, name := range DocFiles {
		entries = append(entries, Entry{Name: name, Src: filepath.Join(cfg.SourceDir, name), Mode: 0o644})
	}
	name := ArchiveName(cfg.Version, p)
	write := func(w io.Writer) error { return WriteTarGz(w, entries, cfg.MTime) }
	if p.OS == "windows" {
		write = func(w io.Writer) error { return WriteZip(w, entries, cfg.MTime) }
	}
	if err := writeFileAtomic(filepath.Join(cfg.Dist, name), write); err != nil {
		return "", err
	}
	cfg.logf("%s\n", name)
	return name, nil
}

// lambdaZip builds the bootstrap for linux/arch and zips it alone: the
// policies come from S3, SSM or a layer (see docs/operations.md).
func (cfg Config) lambdaZip(ctx context.Context, work, arch string) (string, error) {
	bin := filepath.Join(work, "lambda_"+arch, "bootstrap")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	spec := BuildSpec{
		Package: cfg.LambdaPackage, Platform: Platform{OS: "linux", Arch: arch},
		Tags: LambdaTags, LDFlags: cfg.ldflags(), Out: bin,
	}
	if err := cfg.Builder.Build(ctx, spec); err != nil {
		return "", err
	}
	entries := []Entry{{Name: "bootstrap", Src: bin, Mode: 0o755}}
	name := LambdaZipName(cfg.Version, arch)
	if err := writeFileAtomic(filepath.Join(cfg.Dist, name), func(w io.Writer) error {
		return WriteZip(w, entries, cfg.MTime)
	}); err != nil {
		return "", err
	}
	cfg.logf("%s\n", name)
	return name, nil
}

func (cfg Config) logf(format string, args ...any) {
	if cfg.Log != nil {
		fmt.Fprintf(cfg.Log, format, args...)
	}
}
