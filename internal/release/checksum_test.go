package release

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestChecksumsMatchSha256sumFormat(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"b.zip": "bbb", "a.tar.gz": "aaa"})
	if err := WriteChecksums(dir, []string{"b.zip", "a.tar.gz"}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, ChecksumsName))
	if err != nil {
		t.Fatal(err)
	}
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	want := sum("aaa") + "  a.tar.gz\n" + sum("bbb") + "  b.zip\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("checksums.txt (-want +got):\n%s", diff)
	}
	checked, err := VerifyChecksums(dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a.tar.gz", "b.zip"}, checked); diff != "" {
		t.Errorf("verified (-want +got):\n%s", diff)
	}
}

func TestVerifyChecksumsCatchesTampering(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.zip": "aaa", "b.zip": "bbb"})
	if err := WriteChecksums(dir, []string{"a.zip", "b.zip"}); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"b.zip": "bbB"})
	_, err := VerifyChecksums(dir)
	if err == nil || !strings.Contains(err.Error(), "checksums.txt:2") || !strings.Contains(err.Error(), "b.zip") {
		t.Errorf("err = %v, want a mismatch on line 2 naming b.zip", err)
	}
	os.Remove(filepath.Join(dir, "a.zip"))
	if _, err := VerifyChecksums(dir); err == nil || !strings.Contains(err.Error(), "checksums.txt:1") {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestVerifyChecksumsRejectsMalformedLines(t *testing.T) {
	for _, line := range []string{
		"",
		"abc  a.zip",
		strings.Repeat("0", 64) + " a.zip",
		strings.Repeat("0", 64) + "  ../etc/passwd",
		strings.Repeat("0", 64) + "  ",
	} {
		if _, err := verifyLine(t.TempDir(), line); err == nil {
			t.Errorf("verifyLine(%q) = nil, want an error", line)
		}
	}
}

// checksums.txt arrives from a download: no line may panic the verifier or
// reach outside its folder.
func FuzzVerifyLine(f *testing.F) {
	f.Add(strings.Repeat("a", 64) + "  autotuner_v1_linux_amd64.tar.gz")
	f.Add(strings.Repeat("0", 64) + "  ../x")
	f.Add("  ")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, line string) {
		name, err := verifyLine(dir, line)
		if err == nil {
			t.Fatalf("line %q verified against an empty folder", line)
		}
		if strings.ContainsAny(name, `/\`) {
			t.Fatalf("line %q reached for %q", line, name)
		}
	})
}
