package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/autotuner/autotuner/daemon/daemontest"
	"github.com/autotuner/autotuner/internal/awsfake"
	"github.com/autotuner/autotuner/internal/testenv"
)

type syncBuf struct {
	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{} // closed and replaced on every write
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wrote != nil {
		close(s.wrote)
		s.wrote = nil
	}
	return s.b.Write(p)
}

// waitFor blocks until the output holds every one of want, or ctx ends:
// the child's output reaches the buffer through a copying goroutine, so
// it can trail what the child has already done.
func (s *syncBuf) waitFor(ctx context.Context, want ...string) error {
	for {
		s.mu.Lock()
		text := s.b.String()
		missing := ""
		for _, w := range want {
			if !strings.Contains(text, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			s.mu.Unlock()
			return nil
		}
		if s.wrote == nil {
			s.wrote = make(chan struct{})
		}
		wrote := s.wrote
		s.mu.Unlock()
		select {
		case <-wrote:
		case <-ctx.Done():
			return fmt.Errorf("log lacks %q: %w", missing, ctx.Err())
		}
	}
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The daemon as a real process: real signals, real HTTP, AWS faked at
// the wire. SIGHUP with a broken file logs every error and keeps serving;
// SIGTERM exits 0.
func TestRunProcessSignals(t *testing.T) {
	bin := buildBootstrap(t) // the same binary, started as `autotuner run`
	fake := awsfake.New()
	defer fake.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "policies.yaml")
	if err := os.WriteFile(cfg, []byte(runPolicies), 0o644); err != nil {
		t.Fatal(err)
	}
	port := testenv.FreePort(t)
	cmd := exec.Command(bin, "run", "-c", cfg, "--state", filepath.Join(dir, "state.json"), "--listen", fmt.Sprintf("127.0.0.1:%d", port))
	cmd.Env = []string{
		"HOME=" + dir, "AWS_ENDPOINT_URL=" + fake.URL, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "c"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "k"),
	}
	var logs syncBuf
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("daemon output:\n%s", logs.String())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if _, err := daemontest.WaitHTTP(ctx, base+"/readyz", 200); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(cfg, []byte("version: 1\ntargets:\n  - name: x\n    kind: nope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if _, err := daemontest.WaitHTTPFor(ctx, base+"/metrics", func(code int, body string) bool {
		return code == 200 && strings.Contains(body, `autotuner_config_reloads_total{result="failed"} 1`)
	}); err != nil {
		t.Fatal(err)
	}
	if err := logs.waitFor(ctx, "reload failed; keeping the running configuration", `unknown kind \"nope\"`, "targets[0].min: is required"); err != nil {
		t.Error(err)
	}
	if _, err := daemontest.WaitHTTP(ctx, base+"/readyz", 200); err != nil {
		t.Errorf("not ready after a failed reload: %v", err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err
		var ee *exec.ExitError
		if errors.As(err, &ee) || err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("the daemon did not exit after SIGTERM")
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Error("no clean-stop log line")
	}
}
