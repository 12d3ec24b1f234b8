package buildinfo

import "runtime/debug"

// Set with -ldflags -X at release time; see the package doc. They are
// variables, not constants, because the linker can only stamp variables.
var (
	Version = ""
	Commit  = ""
)

// VersionString is the stamped version, else the module version the
// toolchain recorded (go install …@vX), else "dev".
func VersionString() string {
	return versionFrom(Version, debug.ReadBuildInfo)
}

// CommitString is the stamped commit, else the VCS revision the toolchain
// recorded (a build inside a git checkout), else "unknown".
func CommitString() string {
	return commitFrom(Commit, debug.ReadBuildInfo)
}

type readFunc func() (*debug.BuildInfo, bool)

func versionFrom(stamped string, read readFunc) string {
	if stamped != "" {
		return stamped
	}
	if bi, ok := read(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func commitFrom(stamped string, read readFunc) string {
	if stamped != "" {
		return stamped
	}
	if bi, ok := read(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				return s.Value
			}
		}
	}
	return "unknown"
}
