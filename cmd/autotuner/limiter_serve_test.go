package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/autotuner/autotuner/internal/awsfake"
	"github.com/autotuner/autotuner/internal/testenv"
	"github.com/autotuner/autotuner/ratelimit"
)

// dynaliteEnv points the SDK of the command under test at url, with fake
// credentials and no shared config or instance metadata to fall back on.
func dynaliteEnv(t *testing.T, url string) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL":            url,
		"AWS_ACCESS_KEY_ID":           "test",
		"AWS_SECRET_ACCESS_KEY":       "test",
		"AWS_SESSION_TOKEN":           "",
		"AWS_REGION":                  "us-east-1",
		"AWS_PROFILE":                 "",
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
	} {
		t.Setenv(k, v)
	}
}

// TestLimiterServeOnDynalite runs `autotuner limiter serve` on
// 127.0.0.1:0 against a bucket table on dynalite and asks it for tokens
// over HTTP: the burst is granted, the next request is told to wait, an
// unknown bucket is not found, and cancelling the context stops the
// server.
func TestLimiterServeOnDynalite(t *testing.T) {
	url := testenv.Dynalite(t, testenv.DynaliteOptions{})
	ctx := context.Background()
	api := dynaliteClient(url)
	if err := ratelimit.CreateTable(ctx, api, "buckets"); err != nil {
		t.Fatal(err)
	}
	if err := awsfake.WaitTableActive(ctx, api, "buckets", 50*time.Millisecond, 100); err != nil {
		t.Fatal(err)
	}
	// One token per 100 s: nothing refills while the test runs, so the
	// burst of 2 is all there is and the third request must wait.
	if err := ratelimit.New(api, "buckets", ratelimit.Options{}).Configure(ctx, "partner-api", ratelimit.Limits{Rate: 0.01, Burst: 2, Shards: 1}); err != nil {
		t.Fatal(err)
	}
	dynaliteEnv(t, url)

	addrs := make(chan net.Addr, 1)
	prev := limiterListening
	limiterListening = func(a net.Addr) { addrs <- a }
	t.Cleanup(func() { limiterListening = prev })

	sctx, cancel := context.WithCancel(ctx)
	var out, errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(sctx, testEnv(&out, &errb), []string{"limiter", "serve", "--table", "buckets", "--addr", "127.0.0.1:0"})
	}()
	stopped := false
	stop := func() int {
		cancel()
		select {
		case code := <-done:
			stopped = true
			return code
		case <-time.After(30 * time.Second):
			t.Fatal("limiter serve did not stop within 30s of its context's end")
			return -1
		}
	}
	t.Cleanup(func() {
		if !stopped {
			stop()
		}
	})

	var addr net.Addr
	select {
	case addr = <-addrs:
	case code := <-done:
		stopped = true
		t.Fatalf("limiter serve exited %d before listening:\n%s", code, errb.String())
	case <-time.After(30 * time.Second):
		t.Fatal("limiter serve did not listen within 30s")
	}
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsLoopback() || tcp.Port == 0 {
		t.Fatalf("listening on %v, want a kernel-chosen port on loopback", addr)
	}
	base := "http://" + addr.String()
	client := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()

	acquire := func(body string) (*http.Response, ratelimit.TaskResponse, string) {
		t.Helper()
		res, err := client.Post(base+"/acquire", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		var tr ratelimit.TaskResponse
		if res.StatusCode == http.StatusOK || res.StatusCode == http.StatusTooManyRequests {
			if err := json.Unmarshal(b, &tr); err != nil {
				t.Fatalf("POST /acquire %s: %d %q: %v", body, res.StatusCode, b, err)
			}
		}
		return res, tr, string(b)
	}

	for i := range 2 {
		res, tr, b := acquire(`{"bucket": "partner-api", "tokens": 1}`)
		if res.StatusCode != http.StatusOK || !tr.Granted || tr.WaitSeconds != 0 {
			t.Fatalf("request %d within the burst: %d %s", i+1, res.StatusCode, b)
		}
	}
	res, tr, b := acquire(`{"bucket": "partner-api", "tokens": 1}`)
	if res.StatusCode != http.StatusTooManyRequests || tr.Granted {
		t.Fatalf("request past the burst: %d %s, want 429 and a wait", res.StatusCode, b)
	}
	// The whole token is missing: at 0.01/s it is up to 100 s away.
	if tr.WaitSeconds < 1 || tr.WaitSeconds > 100 {
		t.Errorf("wait_seconds = %d, want in [1, 100]", tr.WaitSeconds)
	}
	if ra := res.Header.Get("Retry-After"); ra != strconv.FormatInt(tr.WaitSeconds, 10) {
		t.Errorf("Retry-After = %q, want %d", ra, tr.WaitSeconds)
	}
	if res, _, b := acquire(`{"bucket": "nobody", "tokens": 1}`); res.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown bucket: %d %s, want 404", res.StatusCode, b)
	}

	// The tokens were taken from the table, not from a local count.
	_, states, err := ratelimit.New(api, "buckets", ratelimit.Options{}).Describe(ctx, "partner-api")
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 1 || states[0].Tokens >= 1 {
		t.Errorf("the table after the burst was spent: %+v, want under one token", states)
	}

	mres, err := client.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(mres.Body)
	mres.Body.Close()
	if mres.StatusCode != http.StatusOK || !strings.Contains(string(metrics), `bucket="partner-api"`) {
		t.Errorf("GET /metrics: %d, no series for partner-api:\n%s", mres.StatusCode, metrics)
	}

	client.CloseIdleConnections()
	if code := stop(); code != exitOK {
		t.Fatalf("limiter serve exited %d after its context ended:\n%s", code, errb.String())
	}
	if conn, err := net.DialTimeout("tcp", addr.String(), 5*time.Second); err == nil {
		conn.Close()
		t.Fatalf("%s still accepts connections after the server stopped", addr)
	}
}

// The limiter has no authentication: an address beyond loopback is refused
// unless --addr-public says so.
func TestLimiterServeRefusesPublicAddr(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), testEnv(&out, &errb), []string{"limiter", "serve", "--table", "buckets", "--addr", "0.0.0.0:0"})
	if code != exitUsage || !strings.Contains(errb.String(), "not a loopback address") {
		t.Fatalf("exit %d, stderr %q; want a usage error naming loopback", code, errb.String())
	}
}
