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

var _ controller.AuditSink = (*auditFile)(nil)

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
	f, err := os.OpenFile(a.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("opening the audit file: %w", err)
	}
	a.mu.Lock()
	old := a.f
	a.f, a.sink = f, controller.NewJSONLines(f)
	a.mu.Unlock()
	if old != nil {
		return old.Close()
	}
	return nil
}

func (a *auditFile) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.f.Close()
}
