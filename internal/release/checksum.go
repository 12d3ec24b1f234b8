package release

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// FileSHA256 is the hex SHA-256 of a file.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// WriteChecksums writes dir/checksums.txt for the named files of dir, in
// the format `sha256sum -c` and `shasum -a 256 -c` read: the hex digest,
// two spaces, the name; sorted by name.
func WriteChecksums(dir string, names []string) error {
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	var b strings.Builder
	for _, name := range sorted {
		sum, err := FileSHA256(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("checksum of %s: %w", name, err)
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, name)
	}
	return writeFileAtomic(filepath.Join(dir, ChecksumsName), func(w io.Writer) error {
		_, err := io.WriteString(w, b.String())
		return err
	})
}

// VerifyChecksums checks every line of dir/checksums.txt against the file
// it names, and returns the names it checked. A malformed line, a missing
// file or a mismatch is an error that names the line.
func VerifyChecksums(dir string) ([]string, error) {
	f, err := os.Open(filepath.Join(dir, ChecksumsName))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		name, err := verifyLine(dir, sc.Text())
		if err != nil {
			return names, fmt.Errorf("%s:%d: %w", ChecksumsName, line, err)
		}
		names = append(names, name)
	}
	return names, sc.Err()
}

func verifyLine(dir, line string) (string, error) {
	want, name, ok := strings.Cut(line, "  ")
	if !ok || len(want) != sha256.Size*2 || name == "" || strings.ContainsAny(name, `/\`) {
		return "", fmt.Errorf("want `HEXDIGEST  NAME`, got %q", line)
	}
	got, err := FileSHA256(filepath.Join(dir, name))
	if err != nil {
		return name, err
	}
	if got != want {
		return name, fmt.Errorf("%s: SHA-256 is %s, checksums.txt says %s", name, got, want)
	}
	return name, nil
}
