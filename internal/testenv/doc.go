// Package testenv starts the emulators that tests talk to over real
// sockets on 127.0.0.1, and says clearly why a test is skipped when one is
// not installed: dynalite (DynamoDB, one per test) and moto (a third-party
// emulator of many AWS services, one per test binary, stopped by its pid
// when the binary's tests end), and finds the Node.js checkers installed
// under tools/ (asl-validator, cfn-lint). With AUTOTUNER_REQUIRE_EMULATORS=1 (set by
// .ci/run) a missing emulator fails the test instead: CI must run them.
package testenv
