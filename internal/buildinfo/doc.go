// Package buildinfo says which build is running: the version and commit a
// release build stamps with -ldflags, and what the Go toolchain recorded
// when they are absent. `autotuner version` prints it and the daemon
// exports it as autotuner_build_info.
package buildinfo
