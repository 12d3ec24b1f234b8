// Package release builds autotuner's release artifacts offline: an archive
// per platform (tar.gz, zip for Windows) holding the binary, LICENSE,
// README.md and policies.example.yaml; the Lambda zip (a `bootstrap` for
// provided.al2023) per architecture; and checksums.txt, the SHA-256 of
// every artifact. tools/release is its command line and `make
// release-snapshot` its usual caller.
//
// It is a small program of our own rather than a release tool because it
// needs nothing past the standard library (archive/tar, archive/zip,
// compress/gzip, crypto/sha256) and `go build`. Its output is
// reproducible: binaries are built with -trimpath and stamped only with
// the version and commit, archive entries are sorted, and every timestamp
// is the commit's (SOURCE_DATE_EPOCH), so the same commit gives the same
// bytes.
//
// It never touches anything outside the dist folder it is given, and
// never leaves a half-written artifact under its final name.
package release
