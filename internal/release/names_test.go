package release

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

func TestArtifactNames(t *testing.T) {
	cases := []struct {
		got, want string
	}{
		{ArchiveName("v1.2.3", Platform{"linux", "amd64"}), "autotuner_v1.2.3_linux_amd64.tar.gz"},
		{ArchiveName("v1.2.3", Platform{"darwin", "arm64"}), "autotuner_v1.2.3_darwin_arm64.tar.gz"},
		{ArchiveName("v1.2.3", Platform{"windows", "arm64"}), "autotuner_v1.2.3_windows_arm64.zip"},
		{LambdaZipName("v1.2.3", "arm64"), "autotuner-lambda_v1.2.3_linux_arm64.zip"},
		{BinaryName(Platform{"windows", "amd64"}), "autotuner.exe"},
		{BinaryName(Platform{"linux", "arm64"}), "autotuner"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestCheckVersion(t *testing.T) {
	for _, v := range []string{"v1.2.3", "0.0.0-snapshot+521cde1", "521cde1-dirty", "v2.0.0-rc.1"} {
		if err := CheckVersion(v); err != nil {
			t.Errorf("CheckVersion(%q) = %v, want nil", v, err)
		}
	}
	for _, v := range []string{"", "v1 2", "../v1", "v1/2", `v1"`, "-v1", strings.Repeat("9", 129)} {
		if err := CheckVersion(v); err == nil {
			t.Errorf("CheckVersion(%q) = nil, want an error", v)
		}
	}
}

// Any version CheckVersion accepts names a file in dist itself (no folder,
// no surprise) whose name gives the version back.
func TestNamesStayInDist(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v := rapid.StringMatching(`[A-Za-z0-9][A-Za-z0-9._+-]{0,40}`).Draw(t, "version")
		if err := CheckVersion(v); err != nil {
			t.Fatalf("generated version rejected: %v", err)
		}
		p := rapid.SampledFrom(Platforms).Draw(t, "platform")
		for _, name := range []string{ArchiveName(v, p), LambdaZipName(v, p.Arch)} {
			if strings.ContainsAny(name, `/\ `) || name == "." || name == ".." {
				t.Fatalf("%q is not a plain file name", name)
			}
		}
		re := regexp.MustCompile(`^autotuner_(.+)_` + p.OS + `_` + p.Arch + `\.(tar\.gz|zip)$`)
		if m := re.FindStringSubmatch(ArchiveName(v, p)); m == nil || m[1] != v {
			t.Fatalf("%q does not give version %q back", ArchiveName(v, p), v)
		}
	})
}

func TestParseLists(t *testing.T) {
	got, err := ParsePlatforms("linux/amd64, windows/arm64")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Platform{{"linux", "amd64"}, {"windows", "arm64"}}, got); diff != "" {
		t.Errorf("ParsePlatforms (-want +got):\n%s", diff)
	}
	if all, _ := ParsePlatforms(""); len(all) != 6 {
		t.Errorf("default platforms: %v", all)
	}
	if _, err := ParsePlatforms("plan9/386"); err == nil || !strings.Contains(err.Error(), "plan9/386") {
		t.Errorf("unknown platform: err = %v", err)
	}
	if a, _ := ParseLambdaArches("none"); a != nil {
		t.Errorf("none: %v", a)
	}
	if _, err := ParseLambdaArches("x86_64"); err == nil {
		t.Error("x86_64 accepted; the Go name is amd64")
	}
}
