package boot

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"
)

// Environment variables of the Lambda mode; docs/operations.md lists them.
const (
	EnvPolicies        = "AUTOTUNER_POLICIES"         // s3://bucket/key, ssm:/name, or a path in the package (default policies.yaml)
	EnvPoliciesRefresh = "AUTOTUNER_POLICIES_REFRESH" // how often S3/SSM is read again (default 1m)
	EnvStateTable      = "AUTOTUNER_STATE_TABLE"      // the DynamoDB state table (required)
	EnvLease           = "AUTOTUNER_LEASE"            // optional lease name, when several functions share targets
	EnvLeaseTTL        = "AUTOTUNER_LEASE_TTL"        // default 5m
	EnvAuditTTL        = "AUTOTUNER_AUDIT_TTL"        // keep audit items this long (default 720h; 0 disables)
	EnvDryRun          = "AUTOTUNER_DRY_RUN"          // true: decide and remember, apply nothing
	EnvNamespace       = "AUTOTUNER_METRICS_NAMESPACE"
)

// Env is what the Lambda mode may touch; tests substitute every field.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	Logger         *slog.Logger
}

// settings are the AUTOTUNER_* variables, parsed once at init.
type settings struct {
	refresh, auditTTL, leaseTTL time.Duration
	dryRun                      bool
	table, lease, namespace     string
}

// readSettings parses every variable and reports the first bad one by
// name, so a typo fails the init phase instead of being ignored.
func readSettings(e Env) (settings, error) {
	s := settings{table: e.Getenv(EnvStateTable), lease: e.Getenv(EnvLease), namespace: e.Getenv(EnvNamespace)}
	var err error
	if s.refresh, err = envDuration(e, EnvPoliciesRefresh, time.Minute); err != nil {
		return s, err
	}
	if s.auditTTL, err = envDuration(e, EnvAuditTTL, 30*24*time.Hour); err != nil {
		return s, err
	}
	if s.leaseTTL, err = envDuration(e, EnvLeaseTTL, 5*time.Minute); err != nil {
		return s, err
	}
	if v := e.Getenv(EnvDryRun); v != "" {
		if s.dryRun, err = strconv.ParseBool(v); err != nil {
			return s, fmt.Errorf("%s=%q: want true or false", EnvDryRun, v)
		}
	}
	return s, nil
}

func envDuration(e Env, name string, def time.Duration) (time.Duration, error) {
	v := e.Getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s=%q: want a duration such as 5m", name, v)
	}
	return d, nil
}
