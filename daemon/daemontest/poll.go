package daemontest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// WaitHTTP polls url until it answers with want, backing off between
// attempts, until ctx ends. It is for tests that start a real process and
// must wait for it to listen; the backoff lives here so tests never sleep.
func WaitHTTP(ctx context.Context, url string, want int) (string, error) {
	return WaitHTTPFor(ctx, url, func(code int, _ string) bool { return code == want })
}

// WaitHTTPFor polls url until ok accepts an answer.
func WaitHTTPFor(ctx context.Context, url string, ok func(code int, body string) bool) (string, error) {
	backoff := 10 * time.Millisecond
	var last string
	for attempt := 0; attempt < 400; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return "", err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if ok(resp.StatusCode, string(b)) {
				return string(b), nil
			}
			last = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, b)
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("%s never answered as expected (last: %s): %w", url, last, ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 250*time.Millisecond)
	}
	return "", fmt.Errorf("%s never answered as expected (last: %s)", url, last)
}
