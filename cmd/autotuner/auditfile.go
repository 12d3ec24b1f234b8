package main

import (
	"fmt"
	"os"
	"sync"

	"github.com/autotuner/autotuner/controller"
)

// auditFile is the daemon's --audit file. logrotate moves the file away
// and sends SIGHUP; Reopen then starts a new file at the path, so records
// never keep flowing into the rotated one.
type auditFile struct {
	path string

	mu   sync.Mutex
	f    *os.File
	sink *controller.JSONLines
}

var (
	_ controller.AuditSink   = (*auditFile)(nil)
	_ controller.AuditLookup = (*auditFile)(nil)
)

func openAuditFile(path string) (*auditFile, error) {
	a := &auditFile{path: path}
	if err := a.Reopen(); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *auditFile) Write(r *controller.Record) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sink.Write(r)
}

// Reopen opens the path afresh and closes the previous file. On failure
// the previous file stays in use: a record written to a rotated file beats
// a record lost.
func (a *auditFile) Reopen() error {
	sink, f, err := controller.OpenAuditFile(a.path)
	if err != nil {
		return fmt.Errorf("opening the audit file: %w", err)
	}
	a.mu.Lock()
	old := a.f
	a.f, a.sink = f, sink
	a.mu.Unlock()
	if old != nil {
		return old.Close()
	}
	return nil
}

// HasOutcome looks for a change's settling line in the file at the path
// (the current one: a file logrotate moved away is not searched).
func (a *auditFile) HasOutcome(change string) (bool, error) {
	a.mu.Lock()
	sink := a.sink
	a.mu.Unlock()
	return sink.HasOutcome(change)
}

// Sync makes what was written durable.
func (a *auditFile) Sync() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sink.Sync()
}

func (a *auditFile) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.f.Close()
}
