// Package buildinfo holds the version and commit a binary was built from.
//
// Release builds stamp them with the linker:
//
//	go build -ldflags "-X github.com/autotuner/autotuner/internal/buildinfo.Version=v1.2.3 \
//	  -X github.com/autotuner/autotuner/internal/buildinfo.Commit=0123abc..."
//
// (tools/release, the Dockerfile and the Makefile do). A plain `go build`
// leaves them empty; VersionString and CommitString then fall back to what
// the Go toolchain recorded in the binary, so `go install …@v1.2.3` still
// reports v1.2.3.
package buildinfo
