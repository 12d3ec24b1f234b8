package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestListenBeyondLoopbackNeedsAFlagAndWarns(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		public bool
		err    string // "" for accepted
		warns  bool
	}{
		{"127.0.0.1:9107", false, "", false},
		{"[::1]:9107", false, "", false},
		{"localhost:9107", false, "", false},
		{"127.0.0.1:0", false, "", false},
		{"0.0.0.0:9107", false, "not a loopback address", false},
		{"[::]:9107", false, "pass --listen-public", false},
		{":9107", false, "pass --listen-public", false},
		{"10.0.0.5:9107", false, "pass --listen-public", false},
		{"0.0.0.0:9107", true, "", true},
		{"nohost", true, "want HOST:PORT", false},
	} {
		var log bytes.Buffer
		err := checkListen(tc.addr, tc.public, slog.New(slog.NewJSONHandler(&log, nil)))
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s public=%v: %v", tc.addr, tc.public, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s public=%v: err = %v, want %q", tc.addr, tc.public, err, tc.err)
		}
		if warned := strings.Contains(log.String(), `"level":"WARN"`); warned != tc.warns {
			t.Errorf("%s public=%v: warned %v, want %v (log %s)", tc.addr, tc.public, warned, tc.warns, log.String())
		}
	}
}
