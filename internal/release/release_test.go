package release

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func fakeConfig(t *testing.T, b Builder) Config {
	t.Helper()
	return Config{
		Dist:          filepath.Join(t.TempDir(), "dist"),
		SourceDir:     sourceTree(t),
		Version:       "v1.2.3",
		Commit:        "0123456789abcdef",
		MTime:         epoch,
		Package:       "./cmd/autotuner",
		LambdaPackage: "./cmd/autotuner-lambda",
		Platforms:     Platforms,
		LambdaArches:  LambdaArches,
		Builder:       b,
	}
}

func TestRunWritesEveryArtifact(t *testing.T) {
	b := &fakeBuilder{}
	cfg := fakeConfig(t, b)
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"autotuner-lambda_v1.2.3_linux_amd64.zip",
		"autotuner-lambda_v1.2.3_linux_arm64.zip",
		"autotuner_v1.2.3_darwin_amd64.tar.gz",
		"autotuner_v1.2.3_darwin_arm64.tar.gz",
		"autotuner_v1.2.3_linux_amd64.tar.gz",
		"autotuner_v1.2.3_linux_arm64.tar.gz",
		"autotuner_v1.2.3_windows_amd64.zip",
		"autotuner_v1.2.3_windows_arm64.zip",
		"checksums.txt",
	}
	if diff := cmp.Diff(want, res.Artifacts); diff != "" {
		t.Errorf("artifacts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, dirNames(t, cfg.Dist)); diff != "" {
		t.Errorf("dist holds (-want +got); the build folder must be gone:\n%s", diff)
	}
	checked, err := VerifyChecksums(cfg.Dist)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want[:len(want)-1], checked); diff != "" {
		t.Errorf("checksums.txt covers (-want +got):\n%s", diff)
	}
}

func TestPlatformArchivesHoldBinaryAndDocs(t *testing.T) {
	cfg := fakeConfig(t, &fakeBuilder{})
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	for _, p := range Platforms {
		ms := readArchive(t, filepath.Join(cfg.Dist, ArchiveName("v1.2.3", p)))
		want := []string{"LICENSE", "README.md", BinaryName(p), "policies.example.yaml"}
		if diff := cmp.Diff(want, names(ms)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", p, diff)
		}
		for _, m := range ms {
			wantMode := os.FileMode(0o644)
			if m.Name == BinaryName(p) {
				wantMode = 0o755
				if !strings.Contains(m.Body, "./cmd/autotuner "+p.String()+" tags= ") {
					t.Errorf("%s: binary built as %q", p, m.Body)
				}
			} else if m.Body != "contents of "+m.Name+"\n" {
				t.Errorf("%s: %s holds %q", p, m.Name, m.Body)
			}
			if m.Mode != wantMode || !m.ModTime.Equal(epoch) {
				t.Errorf("%s: %s mode %v time %v, want %v %v", p, m.Name, m.Mode, m.ModTime, wantMode, epoch)
			}
		}
	}
}

func TestLambdaZipsHoldAnExecutableBootstrap(t *testing.T) {
	cfg := fakeConfig(t, &fakeBuilder{})
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	for _, arch := range LambdaArches {
		ms := readZip(t, filepath.Join(cfg.Dist, LambdaZipName("v1.2.3", arch)))
		if len(ms) != 1 || ms[0].Name != "bootstrap" || ms[0].Mode != 0o755 {
			t.Fatalf("%s: zip holds %+v, want one executable bootstrap", arch, ms)
		}
		if want := "./cmd/autotuner-lambda linux/" + arch + " tags=lambda.norpc "; !strings.HasPrefix(ms[0].Body, want) {
			t.Errorf("%s: bootstrap built as %q, want %q…", arch, ms[0].Body, want)
		}
	}
}

func TestEveryBinaryIsStamped(t *testing.T) {
	b := &fakeBuilder{}
	if _, err := Run(context.Background(), fakeConfig(t, b)); err != nil {
		t.Fatal(err)
	}
	if len(b.specs) != len(Platforms)+len(LambdaArches) {
		t.Fatalf("%d builds, want %d", len(b.specs), len(Platforms)+len(LambdaArches))
	}
	want := "-s -w -X " + BuildInfoPackage + ".Version=v1.2.3 -X " + BuildInfoPackage + ".Commit=0123456789abcdef"
	for _, s := range b.specs {
		if s.LDFlags != want {
			t.Errorf("%s: ldflags %q, want %q", s.Platform, s.LDFlags, want)
		}
	}
}

// A second run over the same inputs gives byte-identical artifacts, and
// replaces the first run's without touching anything else in dist.
func TestRerunIsReproducibleAndKeepsForeignFiles(t *testing.T) {
	cfg := fakeConfig(t, &fakeBuilder{})
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(filepath.Join(cfg.Dist, ChecksumsName))
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, cfg.Dist, map[string]string{"notes.txt": "mine", "autotuner_v0.9.0_linux_amd64.tar.gz": "old"})
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	second, err := os.ReadFile(filepath.Join(cfg.Dist, ChecksumsName))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(first), string(second)); diff != "" {
		t.Errorf("rerun changed checksums (-first +second):\n%s", diff)
	}
	got := dirNames(t, cfg.Dist)
	if !contains(got, "notes.txt") || contains(got, "autotuner_v0.9.0_linux_amd64.tar.gz") {
		t.Errorf("dist after rerun: %v; want notes.txt kept and the old archive gone", got)
	}
}

func TestRunRefusesBadConfigBeforeWriting(t *testing.T) {
	b := &fakeBuilder{}
	cfg := fakeConfig(t, b)
	cfg.Version = "v1 beta"
	cfg.SourceDir = t.TempDir() // no LICENSE, README.md, ...
	_, err := Run(context.Background(), cfg)
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{`version "v1 beta"`, "LICENSE", "README.md", "policies.example.yaml"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if len(b.specs) != 0 {
		t.Errorf("%d builds ran for a bad config", len(b.specs))
	}
	if _, err := os.Stat(cfg.Dist); !os.IsNotExist(err) {
		t.Errorf("dist created for a bad config: %v", err)
	}
}

func TestFailedBuildLeavesNoChecksums(t *testing.T) {
	cfg := fakeConfig(t, &fakeBuilder{fail: "linux/arm64"})
	_, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "linux/arm64") {
		t.Fatalf("err = %v, want the failing platform named", err)
	}
	for _, name := range dirNames(t, cfg.Dist) {
		if name == ChecksumsName || strings.HasPrefix(name, ".") {
			t.Errorf("failed run left %s", name)
		}
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
