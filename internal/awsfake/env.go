package awsfake

import (
	"path/filepath"
	"testing"
)

// Env points the SDK at the fake the way a user would point it at an
// emulator: AWS_ENDPOINT_URL, with fake credentials and a region, and with
// shared config files and the instance metadata service out of reach, so a
// test can never pick up real credentials or leave loopback.
func (s *Server) Env(t testing.TB) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL":                    s.URL,
		"AWS_ACCESS_KEY_ID":                   "test",
		"AWS_SECRET_ACCESS_KEY":               "test",
		"AWS_SESSION_TOKEN":                   "",
		"AWS_REGION":                          "us-east-1",
		"AWS_PROFILE":                         "",
		"AWS_EC2_METADATA_DISABLED":           "true",
		"AWS_CONFIG_FILE":                     filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE":         filepath.Join(dir, "credentials"),
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "",
		"AWS_CA_BUNDLE":                       "",
	} {
		t.Setenv(k, v)
	}
}

// Start starts a fake for a test, points the SDK at it with Env, and
// stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := New()
	t.Cleanup(s.Close)
	s.Env(t)
	return s
}
