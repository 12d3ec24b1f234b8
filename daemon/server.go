package daemon

import (
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// The endpoint must never be the way to stop the controller. Each
// connection costs a file descriptor, and a state save needs one too: with
// no cap, a client holding thousands of idle connections exhausted the
// descriptors, /healthz stopped answering and saves failed. So:
//   - timeouts bound how long any connection can sit: a client that sends
//     no request header is dropped after ReadHeaderTimeout, an idle
//     keep-alive after IdleTimeout;
//   - the server holds at most MaxConns connections, well below
//     RLIMIT_NOFILE (see ConnCap), so descriptors remain for the state;
//   - at the cap, a new connection evicts the oldest one that is not
//     serving a request (new or idle), so a flood of idle connections
//     cannot lock out a probe: the probe's connection gets in, an idler
//     goes. Only when every held connection is busy is the new one closed.

// Timeouts of the health and metrics endpoint.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 10 * time.Second
	WriteTimeout      = 30 * time.Second // a large /metrics on a slow scraper
	IdleTimeout       = 60 * time.Second
	maxHeaderBytes    = 16 << 10
)

// DefaultMaxConns caps the endpoint's connections: plenty for a scraper,
// probes and a human with curl.
const DefaultMaxConns = 128

// ConnCap is the connection cap to use: want (DefaultMaxConns when 0),
// lowered to a quarter of the process's descriptor limit, so that the
// state store, the audit file and AWS connections always have the rest.
func ConnCap(want int) int {
	if want <= 0 {
		want = DefaultMaxConns
	}
	if limit, ok := descriptorLimit(); ok {
		if quarter := int(min(limit/4, 1<<20)); want > quarter {
			want = max(quarter, 1)
		}
	}
	return want
}

// newServer is the endpoint's HTTP server. Its error log (accept errors
// such as "too many open files") goes through logger as structured
// records, not plain text in the middle of a JSON log.
func newServer(h http.Handler, logger *slog.Logger, cl *capListener) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.With("component", "http").Handler(), slog.LevelWarn),
		ConnState:         cl.track,
	}
}

// capListener holds at most max connections, evicting idle ones.
type capListener struct {
	net.Listener
	max int

	mu      sync.Mutex
	conns   map[net.Conn]*heldConn
	evicted int // connections closed to make room; for tests and logs
	refused int // new connections closed because all held ones were busy
	seq     uint64
}

type heldConn struct {
	since uint64 // the order in which it became new or idle
	busy  bool
}

func newCapListener(l net.Listener, max int) *capListener {
	return &capListener{Listener: l, max: max, conns: map[net.Conn]*heldConn{}}
}

// Accept returns the next connection, making room for it first.
func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.admit(c) {
			return c, nil
		}
		c.Close()
	}
}

func (l *capListener) admit(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.conns) >= l.max {
		victim := l.oldestIdle()
		if victim == nil {
			l.refused++
			return false
		}
		delete(l.conns, victim)
		victim.Close() // the server's reader sees it and cleans up
		l.evicted++
	}
	l.seq++
	l.conns[c] = &heldConn{since: l.seq}
	return true
}

// oldestIdle is the held connection idle the longest, or nil.
func (l *capListener) oldestIdle() net.Conn {
	var victim net.Conn
	var since uint64
	for c, h := range l.conns {
		if !h.busy && (victim == nil || h.since < since) {
			victim, since = c, h.since
		}
	}
	return victim
}

// track follows the server's view of each connection.
func (l *capListener) track(c net.Conn, s http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h, ok := l.conns[c]
	if !ok {
		return // evicted already
	}
	switch s {
	case http.StateActive:
		h.busy = true
	case http.StateIdle, http.StateNew:
		l.seq++
		h.busy, h.since = false, l.seq
	case http.StateClosed, http.StateHijacked:
		delete(l.conns, c)
	}
}

// stats reports the connections held, evicted and refused so far.
func (l *capListener) stats() (held, evicted, refused int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns), l.evicted, l.refused
}

// EndpointStats reports the endpoint's connections: held now, evicted to
// make room, and refused because all held ones were busy.
func (d *Daemon) EndpointStats() (held, evicted, refused int) {
	if d.conns == nil {
		return 0, 0, 0
	}
	return d.conns.stats()
}
