package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestVersionFallbacks(t *testing.T) {
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	devel := func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true
	}
	installed := func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{Main: debug.Module{Version: "v0.4.0"}}, true
	}
	cases := []struct {
		name, stamped string
		read          readFunc
		want          string
	}{
		{"stamped wins", "v1.2.3", installed, "v1.2.3"},
		{"go install records the module version", "", installed, "v0.4.0"},
		{"a checkout build is devel", "", devel, "dev"},
		{"no build info", "", none, "dev"},
	}
	for _, c := range cases {
		if got := versionFrom(c.stamped, c.read); got != c.want {
			t.Errorf("%s: versionFrom = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestCommitFallbacks(t *testing.T) {
	vcs := func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "abc123"},
		}}, true
	}
	bare := func() (*debug.BuildInfo, bool) { return &debug.BuildInfo{}, true }
	if got := commitFrom("def456", vcs); got != "def456" {
		t.Errorf("stamped commit: got %q", got)
	}
	if got := commitFrom("", vcs); got != "abc123" {
		t.Errorf("vcs commit: got %q", got)
	}
	if got := commitFrom("", bare); got != "unknown" {
		t.Errorf("no commit: got %q", got)
	}
}

// The live functions must agree with the fallbacks on this test binary,
// which nothing stamped.
func TestLiveUnstamped(t *testing.T) {
	if Version != "" || Commit != "" {
		t.Skip("test binary was stamped")
	}
	if VersionString() == "" || CommitString() == "" {
		t.Fatal("empty version or commit string")
	}
}
