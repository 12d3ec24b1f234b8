package release

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var epoch = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func entriesIn(t *testing.T, dir string) []Entry {
	t.Helper()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Deliberately unsorted, and with source modes unlike the archive's.
	return []Entry{
		{Name: "README.md", Src: write("r", "readme"), Mode: 0o644},
		{Name: "autotuner", Src: write("b", "\x7fELF binary"), Mode: 0o755},
		{Name: "LICENSE", Src: write("l", "apache"), Mode: 0o644},
	}
}

func TestArchivesListSortedEntriesWithModesAndTime(t *testing.T) {
	dir := t.TempDir()
	entries := entriesIn(t, dir)
	want := []member{
		{Name: "LICENSE", Mode: 0o644, ModTime: epoch, Body: "apache"},
		{Name: "README.md", Mode: 0o644, ModTime: epoch, Body: "readme"},
		{Name: "autotuner", Mode: 0o755, ModTime: epoch, Body: "\x7fELF binary"},
	}
	for _, c := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"x.tar.gz", func(b *bytes.Buffer) error { return WriteTarGz(b, entries, epoch) }},
		{"x.zip", func(b *bytes.Buffer) error { return WriteZip(b, entries, epoch) }},
	} {
		var b bytes.Buffer
		if err := c.write(&b); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, c.name)
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, readArchive(t, path)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
}

// The same files give the same bytes, whatever order they are listed in
// and whenever they were written: archives are reproducible.
func TestArchivesAreReproducible(t *testing.T) {
	dir := t.TempDir()
	entries := entriesIn(t, dir)
	reversed := []Entry{entries[2], entries[1], entries[0]}
	for _, w := range []func(*bytes.Buffer, []Entry) error{
		func(b *bytes.Buffer, e []Entry) error { return WriteTarGz(b, e, epoch) },
		func(b *bytes.Buffer, e []Entry) error { return WriteZip(b, e, epoch) },
	} {
		var a, b bytes.Buffer
		if err := w(&a, entries); err != nil {
			t.Fatal(err)
		}
		// Touch the sources: their own times must not leak in.
		for _, e := range entries {
			if err := os.Chtimes(e.Src, epoch.Add(time.Hour), epoch.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		if err := w(&b, reversed); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Error("two writes of the same entries differ")
		}
	}
}

func TestArchiveMissingSourceNamesIt(t *testing.T) {
	var b bytes.Buffer
	err := WriteTarGz(&b, []Entry{{Name: "LICENSE", Src: filepath.Join(t.TempDir(), "nope"), Mode: 0o644}}, epoch)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("nope")) {
		t.Errorf("err = %v, want one naming the missing file", err)
	}
}
