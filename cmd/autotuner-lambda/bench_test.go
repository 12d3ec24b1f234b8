package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BenchmarkLambdaColdStart measures, for the real bootstrap binary, the
// time from starting the process to its first request for an event to the
// runtime API (a local fake): init, flag parsing, reading and validating
// the packaged policies file, and building the AWS clients. No network.
// ms-cpu-to-ready is the CPU time the process spent by then (it is idle,
// waiting for the event, until it is killed): on a busy machine it is the
// steadier figure, as wall time includes waiting for a core.
func BenchmarkLambdaColdStart(b *testing.B) {
	bootstrap := buildBootstrap(b, "")
	if fi, err := os.Stat(bootstrap); err == nil {
		b.ReportMetric(float64(fi.Size())/(1<<20), "MiB-binary")
	}
	policies, _ := filepath.Abs("../../testdata/events/policies.yaml")
	ready := make(chan time.Time, 1)
	release := make(chan struct{})
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/runtime/invocation/next") {
			ready <- time.Now()
			<-release // hold the request: the function is ready
		}
	}))
	defer api.Close()
	defer close(release)
	dir := b.TempDir()
	env := []string{
		"AWS_LAMBDA_RUNTIME_API=" + strings.TrimPrefix(api.URL, "http://"),
		"AUTOTUNER_POLICIES=" + policies, "AUTOTUNER_STATE_TABLE=t",
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "c"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "k"), "HOME=" + dir,
	}
	var total, cpu time.Duration
	n := 0
	b.ResetTimer()
	for b.Loop() {
		cmd := exec.Command(bootstrap)
		cmd.Env = env
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		select {
		case at := <-ready:
			total += at.Sub(start)
			n++
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			b.Fatal("the bootstrap never asked for an event")
		}
		b.StopTimer()
		cmd.Process.Kill()
		cmd.Wait()
		cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(n), "ms-to-ready")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(n), "ms-cpu-to-ready")
}
