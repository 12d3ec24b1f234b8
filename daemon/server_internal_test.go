package daemon

import (
	"bytes"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
)

func pipe(t *testing.T) net.Conn {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return a
}

// At the cap a new connection evicts the one idle longest; a busy one is
// never evicted, and when all are busy the newcomer is refused.
func TestCapListenerEvictsTheOldestIdle(t *testing.T) {
	l := newCapListener(nil, 2)
	a, b, c, d := pipe(t), pipe(t), pipe(t), pipe(t)
	if !l.admit(a) || !l.admit(b) {
		t.Fatal("room for two, refused")
	}
	l.track(a, http.StateActive) // a serves a request
	l.track(b, http.StateIdle)
	if !l.admit(c) {
		t.Fatal("an idle connection could make room")
	}
	if _, ok := l.conns[b]; ok {
		t.Error("b, the only idle one, was kept")
	}
	if _, ok := l.conns[a]; !ok {
		t.Error("a, busy, was evicted")
	}
	l.track(c, http.StateActive)
	if l.admit(d) {
		t.Error("every held connection is busy, yet a newcomer was admitted")
	}
	l.track(a, http.StateIdle)
	l.track(c, http.StateIdle) // idle after a; a goes first
	if !l.admit(d) {
		t.Fatal("idle connections could make room")
	}
	if _, ok := l.conns[a]; ok {
		t.Error("a, idle the longest, was kept")
	}
	held, evicted, refused := l.stats()
	if held != 2 || evicted != 2 || refused != 1 {
		t.Errorf("held %d evicted %d refused %d, want 2 2 1", held, evicted, refused)
	}
	l.track(c, http.StateClosed)
	if held, _, _ := l.stats(); held != 1 {
		t.Errorf("a closed connection is still counted: %d held", held)
	}
}

func TestConnCapStaysWellBelowTheDescriptorLimit(t *testing.T) {
	if got := ConnCap(0); got != min(DefaultMaxConns, got) || got < 1 {
		t.Errorf("ConnCap(0) = %d", got)
	}
	if got := ConnCap(1 << 40); got > 1<<20 {
		t.Errorf("ConnCap(huge) = %d: not lowered to a quarter of RLIMIT_NOFILE", got)
	}
}

// The server's own error log ("http: Accept error: ...") is a structured
// record in the daemon's log, not a plain line in the middle of JSON.
func TestServerErrorLogIsStructured(t *testing.T) {
	var buf bytes.Buffer
	srv := newServer(http.NotFoundHandler(), slog.New(slog.NewJSONHandler(&buf, nil)), newCapListener(nil, 1))
	srv.ErrorLog.Printf("http: Accept error: accept tcp 127.0.0.1:9107: accept4: too many open files; retrying in 5ms")
	got := buf.String()
	for _, want := range []string{`"level":"WARN"`, `"component":"http"`, `"msg":"http: Accept error: accept tcp 127.0.0.1:9107: accept4: too many open files; retrying in 5ms"`} {
		if !strings.Contains(got, want) {
			t.Errorf("log %s lacks %s", got, want)
		}
	}
}
