package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Set by release builds:
//
//	go build -ldflags "-X github.com/autotuner/autotuner/internal/buildinfo.Version=v1.2.3 -X github.com/autotuner/autotuner/internal/buildinfo.Commit=abc123"
var (
	Version = "dev"
	Commit  = ""
)

// readBuildInfo is debug.ReadBuildInfo; tests replace it.
var readBuildInfo = debug.ReadBuildInfo

// Info is what a build knows about itself.
type Info struct {
	Version   string // a release tag, the module version, or "dev"
	Commit    string // the VCS revision, "" when unknown
	GoVersion string // the toolchain that built the binary
}

// Get returns the stamped values, falling back to what the Go toolchain
// recorded: the module version of `go install ...@vX`, and the VCS
// revision of a build from a checkout (with "-dirty" for local edits).
func Get() Info {
	in := Info{Version: Version, Commit: Commit, GoVersion: GoVersion()}
	bi, ok := readBuildInfo()
	if !ok {
		return in
	}
	if in.Version == "dev" || in.Version == "" {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			in.Version = v
		} else {
			in.Version = "dev"
		}
	}
	if in.Commit == "" {
		in.Commit = vcsRevision(bi.Settings)
	}
	return in
}

func vcsRevision(settings []debug.BuildSetting) string {
	var rev string
	dirty := false
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" && dirty {
		rev += "-dirty"
	}
	return rev
}

// GoVersion is the Go release the binary was built with.
func GoVersion() string {
	if bi, ok := readBuildInfo(); ok && bi.GoVersion != "" {
		return bi.GoVersion
	}
	return runtime.Version()
}

// String is the one-line form `autotuner version` prints after the name:
// "v1.2.3 (commit abc123, go1.26.0)".
func (in Info) String() string {
	s := in.Version + " ("
	if in.Commit != "" {
		s += "commit " + in.Commit + ", "
	}
	return s + in.GoVersion + ")"
}
