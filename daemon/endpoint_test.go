package daemon_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/autotuner/autotuner/daemon"
)

const holdEnv = "AUTOTUNER_TEST_HOLD_CONNS" // "ADDR COUNT" in a helper process

// TestHelperHoldConnections is not a test: run as a child process, it opens
// COUNT idle connections to ADDR, says how many, and holds them until its
// stdin closes. Children keep the flood's descriptors out of the test
// process, whose own limit (RLIMIT_NOFILE) may be no more than the flood.
func TestHelperHoldConnections(t *testing.T) {
	spec := os.Getenv(holdEnv)
	if spec == "" {
		return
	}
	addr, n, _ := strings.Cut(spec, " ")
	count, _ := strconv.Atoi(n)
	d := net.Dialer{Timeout: 20 * time.Second}
	var held []net.Conn
	failed := 0
	for range count {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			failed++
			continue
		}
		held = append(held, c)
	}
	fmt.Printf("held %d failed %d\n", len(held), failed)
	io.Copy(io.Discard, os.Stdin)
	for _, c := range held {
		c.Close()
	}
}

// holdConnections starts a helper holding count idle connections to addr
// and waits until it has opened them all. Closing the returned writer
// releases them.
func holdConnections(t *testing.T, addr string, count int) (held int, release func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldConnections$", "-test.count=1")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d", holdEnv, addr, count))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	release = func() {
		stdin.Close()
		cmd.Wait()
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var failed int
		if _, err := fmt.Sscanf(sc.Text(), "held %d failed %d", &held, &failed); err == nil {
			go io.Copy(io.Discard, stdout)
			return held, release
		}
	}
	release()
	t.Fatal("the helper exited without holding its connections")
	return 0, nil
}

// 20,000 idle connections, held by other processes: the endpoint keeps
// its descriptors bounded, /healthz still answers, and a tick still
// saves state.
func TestEndpointSurvivesTwentyThousandIdleConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 20,000 loopback connections")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, opts{listener: ln})
	h.tick()
	before, err := os.ReadFile(h.statePath)
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()

	const perHelper, helpers = 10_000, 2
	total := 0
	for range helpers {
		n, release := holdConnections(t, addr, perHelper)
		defer release()
		total += n
	}
	if total < perHelper*helpers*99/100 {
		t.Fatalf("only %d of %d connections opened", total, perHelper*helpers)
	}

	client := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("/healthz under %d idle connections: %v", total, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "ok" {
		t.Fatalf("/healthz = %d %q", resp.StatusCode, body)
	}

	held, evicted, _ := h.d.EndpointStats()
	if limit := daemon.ConnCap(0); held > limit || evicted < total-limit {
		t.Errorf("held %d (cap %d), evicted %d of %d idle connections", held, limit, evicted, total)
	}

	h.sensor.Value = 60 // a change, so the saved state differs
	done := h.tick()
	if done.Err != nil {
		t.Fatalf("tick under the flood: %v", done.Err)
	}
	for _, r := range done.Result.Records {
		if r.Error != "" {
			t.Errorf("%s: %s error: %s", r.Target, r.Stage, r.Error)
		}
	}
	after, err := os.ReadFile(h.statePath)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(before, after) {
		t.Error("the tick under the flood did not save state")
	}
}
