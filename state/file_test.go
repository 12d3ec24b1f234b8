package state

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/autotuner/autotuner/policy"
)

var ctx = context.Background()

func sample(i float64) policy.Memory {
	m := policy.NewMemory()
	m.Integral, m.Above = 0.25*i, int(i)
	m.LastUp = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	m.Window = []policy.Recommendation{{At: m.LastUp, Value: 100 * i}}
	m.Actuation = policy.Actuation{LastSet: 100 * i, HaveLastSet: true, LastSetAt: m.LastUp}
	return m
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

func TestFileRoundTripAndAtomicWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "state.json")
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]policy.Memory{"a": sample(1), "b": sample(2)}
	for name, m := range want {
		if err := f.Save(ctx, name, m); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 { // each commit replaces the file whole
		if err := f.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		f.Save(ctx, "a", want["a"])
	}
	if got := dirNames(t, filepath.Dir(path)); !cmp.Equal(got, []string{"state.json", "state.json.lock"}) {
		t.Fatalf("files = %v: a temporary file was left behind", got)
	}
	if got := f.Targets(); !cmp.Equal(got, []string{"a", "b"}) {
		t.Fatalf("targets = %v", got)
	}
	f.Close()

	g, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for name, m := range want {
		got, err := g.Load(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(m, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	if got, _ := g.Load(ctx, "new"); !cmp.Equal(got, policy.NewMemory()) {
		t.Errorf("unknown target = %+v, want a new memory", got)
	}
	snap, err := ReadSnapshot(path) // no lock needed, none taken
	if err != nil || len(snap) != 2 {
		t.Fatalf("snapshot: %v, %d targets", err, len(snap))
	}
}

func TestFileLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := OpenFile(path); !errors.Is(err, ErrLocked) {
			t.Fatalf("second open: err = %v, want ErrLocked", err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	g, err := OpenFile(path)
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	g.Close()
	if err := g.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

func TestFileRefusesBadState(t *testing.T) {
	for _, tc := range []struct {
		name, content, want string
	}{
		{"not json", `{"version": 1, "targets": {`, "corrupt"},
		{"empty", ``, "corrupt"},
		{"file version", `{"version": 2, "targets": {}}`, "version 2 is not supported"},
		{"memory version", `{"version": 1, "targets": {"a": {"version": 7}}}`, `target "a": memory version 7 is not supported`},
		{"unknown field", `{"version": 1, "targets": {}, "extra": true}`, "unknown field"},
		{"trailing data", `{"version": 1, "targets": {}} {}`, "trailing data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := OpenFile(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v; want it to name %s and say %q", err, path, tc.want)
			}
			// Never reset, never overwritten, and the lock is let go.
			if b, _ := os.ReadFile(path); string(b) != tc.content {
				t.Fatalf("the state file was changed to %q", b)
			}
			if _, err := OpenFile(path); errors.Is(err, ErrLocked) {
				t.Fatal("a refused file kept its lock")
			}
			if _, err := ReadSnapshot(path); err == nil {
				t.Fatal("ReadSnapshot accepted it")
			}
		})
	}
}

// A store hands out and keeps copies: a caller that goes on using its
// Memory (Decide may append to a Window's spare capacity) cannot change
// what is stored.
func TestStoresDoNotAlias(t *testing.T) {
	f, err := OpenFile(filepath.Join(t.TempDir(), "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, s := range map[string]interface {
		Load(context.Context, string) (policy.Memory, error)
		Save(context.Context, string, policy.Memory) error
	}{"file": f, "mem": NewMem()} {
		t.Run(name, func(t *testing.T) {
			m := sample(1)
			m.Window = append(make([]policy.Recommendation, 0, 4), m.Window...)
			s.Save(ctx, "a", m)
			m.Window[0].Value = -1
			got, _ := s.Load(ctx, "a")
			got2, _ := s.Load(ctx, "a")
			got.Window[0].Value = -2
			if got2.Window[0].Value != 100 {
				t.Fatalf("stored window changed to %v", got2.Window)
			}
		})
	}
}

// A crash between writing the temporary file and renaming it leaves the
// temporary behind: the next open removes it, and only it. The state is
// written compactly, on one line.
func TestOpenRemovesStaleTempsAndWritesCompactly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	stale := path + ".tmp-123456"
	other := filepath.Join(dir, "other.json.tmp-1")
	for _, p := range []string{stale, other} {
		if err := os.WriteFile(p, []byte("{"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the stale temporary file is still there: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another file's temporary was touched: %v", err)
	}
	if err := f.Save(context.Background(), "a", policy.NewMemory()); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte("\n")); n != 1 {
		t.Errorf("state file has %d lines, want 1 (compact):\n%s", n, b)
	}
}
