package state

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/gofrs/flock"

	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/policy"
)

// FileVersion is the schema version of the state file.
const FileVersion = 1

// fileDoc is the on-disk form of the state file.
type fileDoc struct {
	Version int                      `json:"version"`
	Targets map[string]policy.Memory `json:"targets"`
}

// File keeps every target's memory in one JSON file. Writes are atomic
// (temporary file, fsync, rename, fsync of the folder), and an exclusive
// lock on a companion ".lock" file, held from Open to Close, keeps two
// processes from ever interleaving.
type File struct {
	path string
	lock *flock.Flock

	// BeforeRename, when set, is called with the temporary file written
	// and not yet renamed over the state: crash tests end the process
	// there to leave a torn write behind. nil in production.
	BeforeRename func()

	mu      sync.Mutex
	targets map[string]policy.Memory
	dirty   bool
}

var (
	_ controller.Store     = (*File)(nil)
	_ controller.Committer = (*File)(nil)
	_ controller.Forgetter = (*File)(nil)
)

// ErrLocked means another process holds the state file.
var ErrLocked = errors.New("state file is locked by another autotuner process")

// OpenFile opens (or creates) the state file at path and locks it.
// A file that cannot be parsed is an error: state is never silently reset.
func OpenFile(path string) (*File, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("state: %w", err)
		}
	}
	// flock(2) on Unix, LockFileEx on Windows: both are released by the
	// system when the process dies, so a crash never leaves a stale lock.
	lf := flock.New(path+".lock", flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o644))
	locked, err := lf.TryLock()
	if err != nil {
		return nil, fmt.Errorf("state: locking %s: %w", path, err)
	}
	if !locked {
		return nil, fmt.Errorf("%w: %s", ErrLocked, path)
	}
	f := &File{path: path, lock: lf, targets: map[string]policy.Memory{}}
	// Under the lock no other process writes here, so a temporary file
	// is a crash's leftover.
	removeStaleTemps(path)
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return f, nil
	case err != nil:
		f.Close()
		return nil, fmt.Errorf("state: %w", err)
	}
	doc, err := decodeFile(b)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("state file %s is corrupt: %w (move it aside to start afresh; autotuner will not reset it for you)", path, err)
	}
	f.targets = doc.Targets
	return f, nil
}

func decodeFile(b []byte) (*fileDoc, error) {
	var doc fileDoc
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON document")
	}
	if doc.Version != FileVersion {
		return nil, fmt.Errorf("version %d is not supported (want %d)", doc.Version, FileVersion)
	}
	if doc.Targets == nil {
		doc.Targets = map[string]policy.Memory{}
	}
	for name, m := range doc.Targets {
		if err := m.Check(); err != nil {
			return nil, fmt.Errorf("target %q: %w", name, err)
		}
	}
	return &doc, nil
}

// Load returns a target's memory, or a new one.
func (f *File) Load(_ context.Context, target string) (policy.Memory, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.targets[target]
	if !ok {
		return policy.NewMemory(), nil
	}
	m = m.Clone()
	return m, nil
}

// Save records a target's memory; Commit writes it to disk.
func (f *File) Save(_ context.Context, target string, m policy.Memory) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m = m.Clone() // the caller may keep using its copy
	f.targets[target] = m
	f.dirty = true
	return nil
}

// Targets lists the targets with stored memory.
func (f *File) Targets() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	names := make([]string, 0, len(f.targets))
	for n := range f.targets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Forget drops a target's memory; Commit writes the file without it.
func (f *File) Forget(target string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.targets[target]; ok {
		delete(f.targets, target)
		f.dirty = true
	}
}

// Commit writes the state atomically if anything changed.
func (f *File) Commit(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.dirty {
		return nil
	}
	// Compact: the file is for the machine (autotuner state shows it to
	// people), and encoding it is much of a tick's work.
	b, err := json.Marshal(fileDoc{Version: FileVersion, Targets: f.targets})
	if err != nil {
		return err
	}
	if err := writeAtomic(f.path, append(b, '\n'), f.BeforeRename); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	f.dirty = false
	return nil
}

// Close releases the lock.
func (f *File) Close() error {
	if f.lock == nil {
		return nil
	}
	err := f.lock.Close() // unlocks and closes the descriptor
	f.lock = nil
	return err
}

// removeStaleTemps deletes the temporary files of writes that a crash
// interrupted before their rename. It lists the folder rather than globbing
// the path, because on Windows a glob cannot escape metacharacters.
func removeStaleTemps(path string) {
	dir, prefix := filepath.Dir(path), filepath.Base(path)+".tmp-"
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) && e.Type().IsRegular() {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

func writeAtomic(path string, data []byte, beforeRename func()) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if beforeRename != nil {
		beforeRename()
	}
	return replaceDurably(tmp.Name(), path)
}

// ReadSnapshot reads a state file without locking it, for read-only use
// such as `autotuner plan`.
func ReadSnapshot(path string) (map[string]policy.Memory, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	doc, err := decodeFile(b)
	if err != nil {
		return nil, fmt.Errorf("state file %s is corrupt: %w", path, err)
	}
	return doc.Targets, nil
}
