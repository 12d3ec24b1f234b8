// Package lambdatest runs a Lambda bootstrap binary under the AWS Lambda
// runtime interface emulator (aws-lambda-rie) on 127.0.0.1 and invokes it,
// for end-to-end tests of the Lambda mode. .ci/run installs the emulator
// into .bin/ and puts it on PATH.
package lambdatest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/autotuner/autotuner/internal/testenv"
)

// RIE is a running emulator.
type RIE struct {
	URL string // the invoke endpoint

	mu  sync.Mutex
	out bytes.Buffer
}

// Output is everything the emulator and the bootstrap wrote so far.
func (r *RIE) Output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.String()
}

func (r *RIE) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.Write(p)
}

// Find returns the emulator's path: on PATH, or in the repository's .bin/.
func Find(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p
	}
	p := filepath.Join(testenv.RepoRoot(t), ".bin", "aws-lambda-rie")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	testenv.Unavailable(t, "aws-lambda-rie is not installed; run: GOBIN=$PWD/.bin go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@"+testenv.RIEVersion)
	return ""
}

// Start runs bootstrap under the emulator, bound to loopback, with env as
// the whole environment (the emulator passes it on to the bootstrap). It
// is stopped when the test ends.
func Start(t testing.TB, bootstrap string, env []string) *RIE {
	t.Helper()
	bin := Find(t)
	port := testenv.FreePort(t)
	r := &RIE{URL: fmt.Sprintf("http://127.0.0.1:%d/2015-03-31/functions/function/invocations", port)}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--runtime-interface-emulator-address", "127.0.0.1:"+strconv.Itoa(port), bootstrap)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = r, r
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting aws-lambda-rie: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("aws-lambda-rie output:\n%s", r.Output())
		}
	})
	return r
}

// Invoke posts an event and returns the response body. It retries while
// the emulator is not yet listening, backing off between attempts, until
// ctx ends; any answer, success or function error, ends the loop.
func (r *RIE) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	backoff := 10 * time.Millisecond
	var last error
	for attempt := 0; attempt < 200; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(event))
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr != nil {
				return nil, rerr
			}
			if resp.StatusCode != http.StatusOK {
				return body, fmt.Errorf("invoke: HTTP %d: %s", resp.StatusCode, body)
			}
			return body, nil
		}
		last = err
		select {
		case <-ctx.Done():
			return nil, errors.Join(ctx.Err(), last)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
	return nil, fmt.Errorf("invoke: the emulator never answered: %w", last)
}
