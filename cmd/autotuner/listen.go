package main

import (
	"fmt"
	"log/slog"
	"net"
)

// checkListen refuses a non-loopback --listen unless public is set, and
// warns when it is: /metrics names every target, and /healthz, /readyz
// and /metrics have no authentication. In a container, where loopback is
// unreachable from outside, pass --listen-public and publish the port only
// where it should be seen (docs/operations.md).
func checkListen(addr string, public bool, log *slog.Logger) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--listen %q: %v (want HOST:PORT, e.g. 127.0.0.1:9107)", addr, err)
	}
	if isLoopback(host) {
		return nil
	}
	if !public {
		return fmt.Errorf("--listen %s is not a loopback address: /healthz, /readyz and /metrics have no authentication and /metrics names every target; pass --listen-public to serve them beyond this host", addr)
	}
	log.Warn("serving health and metrics beyond loopback: anyone who can reach this address can read them; restrict it with a firewall, a security group or the container's port mapping", "addr", addr)
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
