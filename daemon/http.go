package daemon

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler serves /healthz, /readyz and /metrics.
func (d *Daemon) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok") // the process is alive and serving
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		ok, why := d.Ready()
		if !ok {
			http.Error(w, "not ready: "+why, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.m.Registry, promhttp.HandlerOpts{}))
	return mux
}

// Ready reports whether the daemon is doing its job: a configuration is
// loaded and a tick succeeded recently (or the daemon started recently
// and has not had the chance yet). why says what is wrong.
func (d *Daemon) Ready() (ok bool, why string) {
	now := d.o.Clock.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case !d.loaded:
		return false, "no configuration loaded"
	case !d.lastOK.IsZero() && now.Sub(d.lastOK) <= d.readyWindow:
		return true, ""
	case d.lastOK.IsZero() && now.Sub(d.started) <= d.readyWindow:
		return true, ""
	case d.lastErr != nil:
		return false, fmt.Sprintf("no successful tick within %s; last error: %v", d.readyWindow, d.lastErr)
	}
	return false, fmt.Sprintf("no successful tick within %s", d.readyWindow)
}
