package release

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// member is what a test checks of one archive entry.
type member struct {
	Name    string
	Mode    fs.FileMode
	ModTime time.Time
	Body    string
}

func readTarGz(t *testing.T, path string) []member {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var out []member
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Uid != 0 || hdr.Gid != 0 || hdr.Uname != "" || hdr.Gname != "" {
			t.Errorf("%s: owner %d/%d %q/%q, want none", hdr.Name, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname)
		}
		out = append(out, member{Name: hdr.Name, Mode: fs.FileMode(hdr.Mode), ModTime: hdr.ModTime.UTC(), Body: string(b)})
	}
}

func readZip(t *testing.T, path string) []member {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var out []member
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, member{Name: f.Name, Mode: f.Mode(), ModTime: f.Modified.UTC(), Body: string(b)})
	}
	return out
}

func readArchive(t *testing.T, path string) []member {
	t.Helper()
	if strings.HasSuffix(path, ".zip") {
		return readZip(t, path)
	}
	return readTarGz(t, path)
}

func names(ms []member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return out
}

// fakeBuilder writes, instead of a binary, a line that says what it was
// asked to build, and records every spec.
type fakeBuilder struct {
	mu    sync.Mutex
	specs []BuildSpec
	fail  string // a platform ("linux/arm64") whose build fails
}

var _ Builder = (*fakeBuilder)(nil)

func (b *fakeBuilder) Build(_ context.Context, spec BuildSpec) error {
	b.mu.Lock()
	b.specs = append(b.specs, spec)
	b.mu.Unlock()
	if spec.Platform.String() == b.fail {
		return fmt.Errorf("compile error on %s", b.fail)
	}
	body := fmt.Sprintf("%s %s tags=%s ldflags=%s", spec.Package, spec.Platform, strings.Join(spec.Tags, ","), spec.LDFlags)
	return os.WriteFile(spec.Out, []byte(body), 0o755)
}

// sourceTree is a folder with the files every archive holds.
func sourceTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range DocFiles {
		if err := os.WriteFile(dir+"/"+name, []byte("contents of "+name+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
