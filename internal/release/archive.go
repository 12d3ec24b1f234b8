package release

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Entry is one file inside an archive: Name is its path in the archive,
// Src the file to copy, Mode its permission bits.
type Entry struct {
	Name string
	Src  string
	Mode fs.FileMode
}

// sortedEntries returns entries by name, so an archive's order never
// depends on how its caller listed them.
func sortedEntries(entries []Entry) []Entry {
	out := append([]Entry(nil), entries...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// WriteTarGz writes entries as a gzip-compressed tar. Every header carries
// mtime, owner 0 and no user or group names, and the gzip header no name
// or time, so the bytes depend on the contents alone.
func WriteTarGz(w io.Writer, entries []Entry, mtime time.Time) error {
	gz, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	for _, e := range sortedEntries(entries) {
		if err := addTar(tw, e, mtime); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func addTar(tw *tar.Writer, e Entry, mtime time.Time) error {
	f, err := os.Open(e.Src)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     e.Name,
		Size:     st.Size(),
		Mode:     int64(e.Mode.Perm()),
		ModTime:  mtime.UTC().Truncate(time.Second),
		Format:   tar.FormatUSTAR,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("%s: %w", e.Name, err)
	}
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("%s: %w", e.Name, err)
	}
	return nil
}

// WriteZip writes entries as a deflated zip with Unix permission bits
// (so unzip keeps a bootstrap executable, which Lambda requires) and
// mtime on every entry.
func WriteZip(w io.Writer, entries []Entry, mtime time.Time) error {
	zw := zip.NewWriter(w)
	for _, e := range sortedEntries(entries) {
		if err := addZip(zw, e, mtime); err != nil {
			return err
		}
	}
	return zw.Close()
}

func addZip(zw *zip.Writer, e Entry, mtime time.Time) error {
	f, err := os.Open(e.Src)
	if err != nil {
		return err
	}
	defer f.Close()
	hdr := &zip.FileHeader{Name: e.Name, Method: zip.Deflate, Modified: mtime.UTC().Truncate(time.Second)}
	hdr.SetMode(e.Mode.Perm())
	dst, err := zw.CreateHeader(hdr)
	if err != nil {
		return fmt.Errorf("%s: %w", e.Name, err)
	}
	if _, err := io.Copy(dst, f); err != nil {
		return fmt.Errorf("%s: %w", e.Name, err)
	}
	return nil
}

// writeFileAtomic writes path through write into a temporary file beside
// it and renames it into place, so an interrupted release never leaves a
// truncated artifact under its final name.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".partial-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
