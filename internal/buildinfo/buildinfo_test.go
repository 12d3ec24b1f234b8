package buildinfo

import (
	"runtime/debug"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func withBuildInfo(t *testing.T, bi *debug.BuildInfo, version, commit string) {
	t.Helper()
	oldRead, oldV, oldC := readBuildInfo, Version, Commit
	readBuildInfo = func() (*debug.BuildInfo, bool) { return bi, bi != nil }
	Version, Commit = version, commit
	t.Cleanup(func() { readBuildInfo, Version, Commit = oldRead, oldV, oldC })
}

func TestGet(t *testing.T) {
	checkout := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abc"}, {Key: "vcs.modified", Value: "true"}}}
	installed := &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "v0.4.0"}}
	for _, c := range []struct {
		name            string
		bi              *debug.BuildInfo
		version, commit string
		want            Info
	}{
		{"release build: the stamped values win", checkout, "v1.2.3", "feedbee", Info{"v1.2.3", "feedbee", "go1.26.0"}},
		{"a checkout: the VCS revision, marked dirty", checkout, "dev", "", Info{"dev", "0123abc-dirty", "go1.26.0"}},
		{"go install @version: the module version", installed, "dev", "", Info{"v0.4.0", "", "go1.26.1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			withBuildInfo(t, c.bi, c.version, c.commit)
			if d := cmp.Diff(c.want, Get()); d != "" {
				t.Fatalf("Get (-want +got):\n%s", d)
			}
		})
	}
}

func TestWithoutBuildInfo(t *testing.T) {
	withBuildInfo(t, nil, "dev", "")
	in := Get()
	if in.Version != "dev" || in.Commit != "" || in.GoVersion == "" {
		t.Fatalf("%+v", in)
	}
	if s := (Info{"v1", "abc", "go1.26.0"}).String(); s != "v1 (commit abc, go1.26.0)" {
		t.Fatalf("String: %q", s)
	}
	if s := (Info{"dev", "", "go1.26.0"}).String(); s != "dev (go1.26.0)" {
		t.Fatalf("String: %q", s)
	}
}
