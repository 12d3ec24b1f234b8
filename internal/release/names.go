package release

import (
	"fmt"
	"regexp"
	"strings"
)

// Platform is a GOOS/GOARCH pair to build for.
type Platform struct {
	OS, Arch string
}

func (p Platform) String() string { return p.OS + "/" + p.Arch }

// Platforms is every platform a release has an archive for.
var Platforms = []Platform{
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"linux", "amd64"}, {"linux", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

// LambdaArches are the Lambda architectures; the runtime is provided.al2023
// on both (https://docs.aws.amazon.com/lambda/latest/dg/foundation-arch.html).
var LambdaArches = []string{"amd64", "arm64"}

// ProjectName prefixes every artifact's name.
const ProjectName = "autotuner"

// ChecksumsName is the file that lists every artifact's SHA-256.
const ChecksumsName = "checksums.txt"

// versionPattern keeps a version usable inside a file name on every system
// and inside a -ldflags -X value: no spaces, slashes or quotes.
var versionPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$`)

// CheckVersion says why v cannot name artifacts, or nil.
func CheckVersion(v string) error {
	if !versionPattern.MatchString(v) {
		return fmt.Errorf("version %q: want letters, digits and . _ + - only, starting with a letter or digit, at most 128 characters", v)
	}
	return nil
}

// BinaryName is the executable's name inside a platform's archive.
func BinaryName(p Platform) string {
	if p.OS == "windows" {
		return ProjectName + ".exe"
	}
	return ProjectName
}

// ArchiveName is the name of a platform's archive, for example
// autotuner_v1.2.3_linux_arm64.tar.gz or autotuner_v1.2.3_windows_amd64.zip.
func ArchiveName(version string, p Platform) string {
	ext := ".tar.gz"
	if p.OS == "windows" {
		ext = ".zip"
	}
	return fmt.Sprintf("%s_%s_%s_%s%s", ProjectName, version, p.OS, p.Arch, ext)
}

// LambdaZipName is the name of the Lambda zip for an architecture, for
// example autotuner-lambda_v1.2.3_linux_arm64.zip.
func LambdaZipName(version, arch string) string {
	return fmt.Sprintf("%s-lambda_%s_linux_%s.zip", ProjectName, version, arch)
}

// ParsePlatforms reads "linux/amd64,darwin/arm64"; "" means Platforms.
func ParsePlatforms(s string) ([]Platform, error) {
	if s == "" {
		return Platforms, nil
	}
	var out []Platform
	for _, item := range splitList(s) {
		p, ok := findPlatform(item)
		if !ok {
			return nil, fmt.Errorf("platform %q: want one of %v", item, Platforms)
		}
		out = append(out, p)
	}
	return out, nil
}

// ParseLambdaArches reads "arm64,amd64"; "" means LambdaArches and "none"
// builds no Lambda zip.
func ParseLambdaArches(s string) ([]string, error) {
	switch s {
	case "":
		return LambdaArches, nil
	case "none":
		return nil, nil
	}
	var out []string
	for _, a := range splitList(s) {
		if a != "amd64" && a != "arm64" {
			return nil, fmt.Errorf("lambda architecture %q: want amd64 or arm64", a)
		}
		out = append(out, a)
	}
	return out, nil
}

func findPlatform(s string) (Platform, bool) {
	for _, p := range Platforms {
		if p.String() == s {
			return p, true
		}
	}
	return Platform{}, false
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}
