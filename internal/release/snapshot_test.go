package release

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestSnapshotForThisPlatform runs a real release for the platform the
// test runs on: the Go toolchain builds cmd/autotuner (and, on Linux, the
// Lambda bootstrap), the archive is unpacked, and the binary reports the
// version it was stamped with.
func TestSnapshotForThisPlatform(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the real binary")
	}
	host := Platform{OS: runtime.GOOS, Arch: runtime.GOARCH}
	if _, ok := findPlatform(host.String()); !ok {
		t.Skipf("%s is not a released platform", host)
	}
	var arches []string
	if host.OS == "linux" {
		arches = []string{host.Arch}
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Dist:          filepath.Join(t.TempDir(), "dist"),
		SourceDir:     root,
		Version:       "v0.0.0-test.1",
		Commit:        "feedfacecafe",
		MTime:         epoch,
		Package:       "./cmd/autotuner",
		LambdaPackage: "./cmd/autotuner-lambda",
		Platforms:     []Platform{host},
		LambdaArches:  arches,
		Builder:       GoBuilder{Dir: root},
	}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyChecksums(cfg.Dist); err != nil {
		t.Fatal(err)
	}
	bin := unpackBinary(t, filepath.Join(cfg.Dist, ArchiveName(cfg.Version, host)), BinaryName(host))
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --version: %v\n%s", bin, err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "autotuner v0.0.0-test.1" {
		t.Errorf("--version = %q, want the stamped version", got)
	}
	if len(arches) > 0 {
		zip := readZip(t, filepath.Join(cfg.Dist, LambdaZipName(cfg.Version, host.Arch)))
		if len(zip) != 1 || !strings.HasPrefix(zip[0].Body, "\x7fELF") {
			t.Errorf("Lambda zip does not hold one ELF bootstrap: %v", names(zip))
		}
	}
	t.Logf("artifacts: %v", res.Artifacts)
}

func unpackBinary(t *testing.T, archive, name string) string {
	t.Helper()
	for _, m := range readArchive(t, archive) {
		if m.Name == name {
			p := filepath.Join(t.TempDir(), name)
			if err := os.WriteFile(p, []byte(m.Body), 0o755); err != nil {
				t.Fatal(err)
			}
			return p
		}
	}
	t.Fatalf("%s holds no %s", archive, name)
	return ""
}
