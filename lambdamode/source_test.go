package lambdamode_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/autotuner/autotuner/daemon/daemontest"
	"github.com/autotuner/autotuner/lambdamode"
)

func TestParseLocation(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want lambdamode.Location
		bad  bool
	}{
		{"", lambdamode.Location{Kind: "file", Path: "/var/task/policies.yaml"}, false},
		{"conf/p.yaml", lambdamode.Location{Kind: "file", Path: "/var/task/conf/p.yaml"}, false},
		{"/opt/p.yaml", lambdamode.Location{Kind: "file", Path: "/opt/p.yaml"}, false},
		{"s3://bucket/dir/p.yaml", lambdamode.Location{Kind: "s3", Bucket: "bucket", Key: "dir/p.yaml"}, false},
		{"ssm:/autotuner/policies", lambdamode.Location{Kind: "ssm", Key: "/autotuner/policies"}, false},
		{"s3://bucket", lambdamode.Location{}, true},
		{"s3:///key", lambdamode.Location{}, true},
		{"ssm:", lambdamode.Location{}, true},
	} {
		got, err := lambdamode.ParseLocation(tc.in, "/var/task")
		if (err != nil) != tc.bad {
			t.Errorf("%q: err %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tc.in, diff)
		}
	}
}

type fakeSSM struct {
	value string
	err   error
	calls int
}

func (f *fakeSSM) GetParameter(_ context.Context, name string) (string, error) {
	f.calls++
	if f.err != nil {
		return "", f.err
	}
	return f.value, nil
}

type fakeS3 struct{ body string }

func (f *fakeS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if *in.Bucket != "b" || *in.Key != "k.yaml" {
		return nil, errors.New("NoSuchKey")
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(strings.NewReader(f.body))}, nil
}

func TestPoliciesFromSSMRefreshAndKeepLastGood(t *testing.T) {
	good := string(fixture(t, "policies.yaml"))
	f := &fakeSSM{value: good}
	clock := daemontest.NewClock(t0)
	p := &lambdamode.Policies{Loc: lambdamode.Location{Kind: "ssm", Key: "/p"}, SSM: f, Now: clock.Now}
	ctx := context.Background()
	first, stale, err := p.Get(ctx)
	if err != nil || stale != nil || len(first.Targets) != 2 {
		t.Fatalf("first get: %v %v", stale, err)
	}
	if again, _, _ := p.Get(ctx); again != first || f.calls != 1 {
		t.Errorf("a get within the refresh interval fetched again (%d calls)", f.calls)
	}
	// An invalid update keeps the last good file and says why.
	f.value = "version: 7\n"
	clock.Advance(2 * time.Minute)
	got, stale, err := p.Get(ctx)
	if err != nil || got != first || stale == nil || !strings.Contains(stale.Error(), "ssm:/p:1:") {
		t.Errorf("invalid update: file %p (want %p), stale %v, err %v", got, first, stale, err)
	}
	// A good update takes effect.
	f.value = strings.Replace(good, "max: 100", "max: 120", 1)
	clock.Advance(2 * time.Minute)
	got, _, _ = p.Get(ctx)
	if got == first || got.Target("reports").Max != 120 {
		t.Error("a valid update did not take effect")
	}
	// No file at all yet: that is an error.
	_, _, err = (&lambdamode.Policies{Loc: lambdamode.Location{Kind: "ssm", Key: "/p"}, SSM: &fakeSSM{err: errors.New("AccessDenied")}}).Get(ctx)
	if err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("err = %v", err)
	}
}

func TestPoliciesFromS3(t *testing.T) {
	p := &lambdamode.Policies{Loc: lambdamode.Location{Kind: "s3", Bucket: "b", Key: "k.yaml"}, S3: &fakeS3{body: string(fixture(t, "policies.yaml"))}}
	f, _, err := p.Get(context.Background())
	if err != nil || f.Path != "s3://b/k.yaml" || len(f.Targets) != 2 {
		t.Fatalf("got %v, %v", f, err)
	}
}
