// Package testenv starts the emulators that tests talk to over real
// sockets on 127.0.0.1, and says clearly why a test is skipped when one is
// not installed. With AUTOTUNER_REQUIRE_EMULATORS=1 (set by .ci/run) a
// missing emulator fails the test instead: CI must run them.
package testenv
