package ratelimit

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestTaskAnswers(t *testing.T) {
	_, api := fakeTable(t)
	ctx := context.Background()
	at := t0
	l := New(api, "buckets", Options{Clock: func() time.Time { return at }})
	if err := l.Configure(ctx, "partner-api", Limits{Rate: 0.5, Burst: 2, Shards: 1}); err != nil {
		t.Fatal(err)
	}
	var em EMF
	l.o.Metrics = &em
	var lines strings.Builder
	task := &Task{L: l, Flush: func(at time.Time) { em.Flush(&lines, at) }}
	srv := httptest.NewServer(task.HTTP())
	defer srv.Close()
	post := func(body string) (int, string, string) {
		res, err := http.Post(srv.URL+"/acquire", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var b strings.Builder
		buf := make([]byte, 512)
		n, _ := res.Body.Read(buf)
		b.Write(buf[:n])
		return res.StatusCode, strings.TrimSpace(b.String()), res.Header.Get("Retry-After")
	}
	for _, c := range []struct {
		body, want, retry string
		code              int
	}{
		{`{"bucket":"partner-api","tokens":2}`, `{"granted":true}`, "", 200},
		{`{"bucket":"partner-api"}`, `{"wait_seconds":2}`, "2", 429}, // 1 token at 0.5/s
		{`{"bucket":"nobody"}`, "", "", 404},
		{`{"bucket":"partner-api","tokens":3}`, "", "", 422}, // above the burst: never
		{`{"bucket":"partner-api","token":1}`, "", "", 400},  // unknown key
		{`{"bucket":"","tokens":1}`, "", "", 400},
		{`not json`, "", "", 400},
	} {
		code, body, retry := post(c.body)
		if code != c.code || (c.want != "" && body != c.want) || retry != c.retry {
			t.Errorf("%s: %d %s (Retry-After %q), want %d %s (%q)", c.body, code, body, retry, c.code, c.want, c.retry)
		}
	}
	// The Lambda handler gives the same answers and flushes EMF each time.
	at = at.Add(2 * time.Second)
	res, err := task.Handle(ctx, TaskRequest{Bucket: "partner-api"})
	if err != nil || !res.Granted {
		t.Fatalf("after waiting: %+v %v", res, err)
	}
	var last map[string]any
	ls := strings.Split(strings.TrimSpace(lines.String()), "\n")
	if err := json.Unmarshal([]byte(ls[len(ls)-1]), &last); err != nil {
		t.Fatal(err)
	}
	if last["Bucket"] != "partner-api" || last["Acquired"] != 1.0 || last["_aws"] == nil {
		t.Fatalf("EMF line: %v", last)
	}
}

// TestASLSnippet checks the shipped state machine: every transition names
// a state, the wait reads the task's wait_seconds, and the choice sends a
// grant on to the protected call.
func TestASLSnippet(t *testing.T) {
	b, err := os.ReadFile("../deploy/ratelimit/acquire-token.asl.json")
	if err != nil {
		t.Fatal(err)
	}
	var sm struct {
		StartAt string
		States  map[string]struct {
			Type        string
			Next        string
			Default     string
			SecondsPath string
			End         bool
			Choices     []struct{ Variable, Next string }
			Catch       []struct{ Next string }
		}
	}
	if err := json.Unmarshal(b, &sm); err != nil {
		t.Fatal(err)
	}
	next := map[string][]string{}
	for name, s := range sm.States {
		for _, n := range []string{s.Next, s.Default} {
			if n != "" {
				next[name] = append(next[name], n)
			}
		}
		for _, c := range s.Choices {
			next[name] = append(next[name], c.Next)
		}
		for _, c := range s.Catch {
			next[name] = append(next[name], c.Next)
		}
		if s.Next == "" && !s.End && s.Type != "Choice" && s.Type != "Fail" && s.Type != "Succeed" {
			t.Errorf("state %s has no Next and does not end", name)
		}
	}
	for from, tos := range next {
		for _, to := range tos {
			if _, ok := sm.States[to]; !ok {
				t.Errorf("%s goes to %s, which does not exist", from, to)
			}
		}
	}
	got := map[string]string{"start": sm.StartAt, "wait": sm.States["WaitForToken"].SecondsPath, "choice": sm.States["Granted?"].Choices[0].Variable}
	want := map[string]string{"start": "AcquireToken", "wait": "$.limiter.answer.wait_seconds", "choice": "$.limiter.answer.wait_seconds"}
	if d := cmp.Diff(want, got); d != "" {
		t.Error(d)
	}
}

// FuzzTaskRequest: any body is answered with a status, never a panic, and
// only a valid request reaches the bucket.
func FuzzTaskRequest(f *testing.F) {
	for _, s := range []string{`{"bucket":"b","tokens":1}`, `{"bucket":"b","tokens":-1}`, `{"bucket":"b","tokens":1e309}`, `{}`, `[`, `{"bucket":"` + strings.Repeat("x", 200) + `"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var req TaskRequest
		if json.Unmarshal([]byte(body), &req) != nil {
			return
		}
		if req.Validate() == nil && (req.Bucket == "" || !(req.Tokens > 0) || req.Tokens > maxRequest) {
			t.Fatalf("accepted %+v", req)
		}
	})
}
