// Package config reads the policies file into typed, validated targets.
// Every problem is collected with its file:line:col and key path, and an
// invalid file is never half used. Presets (a kind's standard signals and
// policy) and selectors (one entry for many resources) are expanded here,
// before validation finishes, so the controller only sees ordinary
// targets. It never does I/O beyond reading the file: finding the
// resources a selector names is a Selector's job (package discover).
package config
