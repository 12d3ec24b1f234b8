package awsclient

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	smithy "github.com/aws/smithy-go"

	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsfake"
)

// Errors that need a human must never be classed transient: the
// documented alarm matches permission, invalid, refused and internal.
func TestLocalErrorsNeedAHuman(t *testing.T) {
	emfile := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("socket", syscall.EMFILE)}
	for _, tc := range []struct {
		name string
		err  error
		want controller.Class
	}{
		{"out of descriptors dialing", emfile, controller.ClassInternal},
		{"out of descriptors system-wide", &fs.PathError{Op: "open", Path: "/var/lib/autotuner/state.json", Err: syscall.ENFILE}, controller.ClassInternal},
		{"disk full", &fs.PathError{Op: "write", Path: "state.json", Err: syscall.ENOSPC}, controller.ClassInternal},
		{"state directory not writable", &fs.PathError{Op: "open", Path: "/var/lib/autotuner/.tmp-1", Err: syscall.EACCES}, controller.ClassPermission},
		{"read-only file system", &fs.PathError{Op: "open", Path: "state.json", Err: syscall.EROFS}, controller.ClassPermission},
		{"retry budget spent on throttles", errors.Join(&throttle{}, ratelimit.QuotaExceededError{Available: 0, Requested: 5}), controller.ClassTransient},
	} {
		if got := controller.Classify(Wrap("Op", "res", tc.err)); got != tc.want {
			t.Errorf("%s: class %q through Wrap, want %q", tc.name, got, tc.want)
		}
		if _, aws := tc.err.(interface{ ErrorCode() string }); !aws {
			// Local errors that reach the controller unwrapped (a state
			// file save) are classed the same way.
			if got := controller.Classify(tc.err); got != tc.want && !errors.As(tc.err, new(ratelimit.QuotaExceededError)) {
				t.Errorf("%s: class %q unwrapped, want %q", tc.name, got, tc.want)
			}
		}
	}
}

type throttle struct{}

func (*throttle) Error() string                 { return "ThrottlingException: Rate exceeded" }
func (*throttle) ErrorCode() string             { return "ThrottlingException" }
func (*throttle) ErrorMessage() string          { return "Rate exceeded" }
func (*throttle) ErrorFault() smithy.ErrorFault { return smithy.FaultUnknown }

// Missing credentials, through the real SDK and the Factory: no keys, no
// profile, no instance role. The call never leaves the process, and the
// error must page someone.
func TestMissingCredentialsArePermission(t *testing.T) {
	fake := awsfake.Start(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	f, err := New(context.Background(), Options{NoRateLimits: true, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := f.For("", "")
	_, err = c.Lambda.GetAccountSettings(context.Background(), &lambda.GetAccountSettingsInput{})
	if err == nil {
		t.Fatal("a call without credentials succeeded")
	}
	if got := controller.Classify(Wrap("GetAccountSettings", "", err)); got != controller.ClassPermission {
		t.Errorf("class %q, want permission (err: %v)", got, err)
	}
	if n := len(fake.Calls("")); n != 0 {
		t.Errorf("%d calls reached the service without credentials", n)
	}
}

// The SDK's client-side retry quota, through the real retryer: a service
// that keeps throttling spends the budget, and the SDK joins its quota
// error with the throttle. The budget is ours and refills, so transient.
func TestRetryQuotaIsTransient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Amzn-Errortype", "TooManyRequestsException")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"message":"Rate exceeded","Reason":"CallerRateLimitExceeded"}`))
	}))
	defer srv.Close()
	c := lambda.New(lambda.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("k", "s", ""),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 10
			o.MaxBackoff = 0
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			o.RateLimiter = ratelimit.NewTokenRateLimit(1) // spent by the first retry
		}),
	})
	_, err := c.GetAccountSettings(context.Background(), &lambda.GetAccountSettingsInput{})
	if !errors.As(err, new(ratelimit.QuotaExceededError)) {
		t.Fatalf("err = %v, want the SDK's retry quota error", err)
	}
	if got := controller.Classify(Wrap("GetAccountSettings", "", err)); got != controller.ClassTransient {
		t.Errorf("class %q, want transient", got)
	}
}
