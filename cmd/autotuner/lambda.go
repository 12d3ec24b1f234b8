package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/lambdamode"
	"github.com/autotuner/autotuner/state"
)

func init() {
	register(command{name: "lambda", summary: "serve as an AWS Lambda function (chosen automatically inside Lambda)", run: runLambda})
	// Inside AWS Lambda (or its emulator) the binary is the bootstrap and
	// is started without arguments: serve the runtime.
	autoCommand = func(e *env) string {
		if e.getenv("AWS_LAMBDA_RUNTIME_API") != "" {
			return "lambda"
		}
		return ""
	}
}

// Environment variables of the Lambda mode; docs/operations.md lists them.
const (
	envPolicies        = "AUTOTUNER_POLICIES"         // s3://bucket/key, ssm:/name, or a path in the package (default policies.yaml)
	envPoliciesRefresh = "AUTOTUNER_POLICIES_REFRESH" // how often S3/SSM is read again (default 1m)
	envStateTable      = "AUTOTUNER_STATE_TABLE"      // the DynamoDB state table (required)
	envLease           = "AUTOTUNER_LEASE"            // optional lease name, when several functions share targets
	envLeaseTTL        = "AUTOTUNER_LEASE_TTL"        // default 5m
	envAuditTTL        = "AUTOTUNER_AUDIT_TTL"        // keep audit items this long (default 720h; 0 disables)
	envDryRun          = "AUTOTUNER_DRY_RUN"          // true: decide and remember, apply nothing
	envNamespace       = "AUTOTUNER_METRICS_NAMESPACE"
)

// startLambda hands the handler to the runtime; tests replace it.
var startLambda = func(ctx context.Context, h *lambdamode.Handler) {
	lambda.StartWithOptions(lambdamode.Runtime{H: h}, lambda.WithContext(ctx))
}

func runLambda(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "lambda", "[--event FILE]")
	event := fs.String("event", "", "handle this one event locally, print the response and exit (no Lambda runtime)")
	statePath := fs.String("state", "", "with --event and no "+envStateTable+": keep state in this file")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	// Outside Lambda the runtime library would only say its variables are
	// missing; say what the user most likely wants instead.
	if *event == "" && e.getenv("AWS_LAMBDA_RUNTIME_API") == "" {
		fmt.Fprintln(e.stderr, "autotuner lambda: not inside AWS Lambda (AWS_LAMBDA_RUNTIME_API is not set). "+
			"To handle one event here, pass --event FILE (e.g. testdata/events/scheduled.json; with --state FILE when "+envStateTable+" is not set); "+
			"to serve the runtime, deploy it (deploy/sam) or run it under aws-lambda-rie")
		return exitUsage
	}
	h, closeFn, err := newLambdaHandler(ctx, e, *statePath, *event != "")
	if err != nil {
		fmt.Fprintf(e.stderr, "autotuner lambda: %v\n", err)
		return exitFailure
	}
	defer closeFn()
	if *event == "" {
		startLambda(ctx, h)
		return exitOK
	}
	raw, err := os.ReadFile(*event)
	if err != nil {
		fmt.Fprintf(e.stderr, "autotuner lambda: %v\n", err)
		return exitUsage
	}
	resp, err := h.Invoke(ctx, raw)
	if err != nil {
		fmt.Fprintf(e.stderr, "autotuner lambda: %v\n", err)
		return exitFailure
	}
	out, _ := json.MarshalIndent(resp, "", "  ")
	fmt.Fprintln(e.stdout, string(out))
	if resp.Errors > 0 {
		return exitFailure
	}
	return exitOK
}

// newLambdaHandler wires the handler from the environment. Nothing here
// touches the network: clients are built now, and used on the first event.
func newLambdaHandler(ctx context.Context, e *env, statePath string, local bool) (*lambdamode.Handler, func(), error) {
	loc, err := lambdamode.ParseLocation(e.getenv(envPolicies), e.getenv("LAMBDA_TASK_ROOT"))
	if err != nil {
		return nil, nil, err
	}
	refresh, err := envDuration(e, envPoliciesRefresh, time.Minute)
	if err != nil {
		return nil, nil, err
	}
	auditTTL, err := envDuration(e, envAuditTTL, 30*24*time.Hour)
	if err != nil {
		return nil, nil, err
	}
	leaseTTL, err := envDuration(e, envLeaseTTL, 5*time.Minute)
	if err != nil {
		return nil, nil, err
	}
	dry := false
	if v := e.getenv(envDryRun); v != "" {
		if dry, err = strconv.ParseBool(v); err != nil {
			return nil, nil, fmt.Errorf("%s=%q: want true or false", envDryRun, v)
		}
	}
	table := e.getenv(envStateTable)
	if table == "" && !local {
		return nil, nil, fmt.Errorf("%s is not set: the Lambda mode keeps state in DynamoDB", envStateTable)
	}

	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	pol := &lambdamode.Policies{Loc: loc, Refresh: refresh, Selector: newSelector(ctx, e, "")}
	switch loc.Kind {
	case "s3":
		pol.S3 = s3.NewFromConfig(cfg)
	case "ssm":
		pol.SSM = lambdamode.NewSSMClient(cfg, e.getenv)
	}

	closeFn := func() {}
	var store controller.Store
	var gate controller.Gate
	var audit controller.AuditSink
	if table != "" {
		ddb := dynamodb.NewFromConfig(cfg)
		st := state.NewDynamoDB(ddb, table)
		store = st
		if name := e.getenv(envLease); name != "" {
			host, _ := os.Hostname()
			l := &state.Lease{Client: ddb, Table: table, Name: name, Owner: fmt.Sprintf("lambda:%s:%d", host, os.Getpid()), TTL: leaseTTL}
			st.Fence = l.Token
			gate = campaignGate{l}
		}
		if auditTTL > 0 {
			audit = &state.DynamoDBAudit{Client: ddb, Table: table, TTL: auditTTL}
		}
	} else {
		if statePath == "" {
			statePath = "autotuner-state.json"
		}
		f, err := state.OpenFile(statePath)
		if err != nil {
			return nil, nil, err
		}
		store, closeFn = f, func() { f.Close() }
	}

	// Within a warm container the policies and clients are reused; the
	// backend is rebuilt only when the policies file changes.
	var prevClose func()
	build := func(ctx context.Context, f *config.File) (*controller.Controller, error) {
		be, err := newBackend(ctx, e, f)
		if err != nil {
			return nil, err
		}
		if prevClose != nil {
			prevClose()
		}
		prevClose = be.close
		return &controller.Controller{Config: f, Sensor: be.sensor, Actuators: be.actuators, Store: store, Gate: gate, Audit: audit, Logger: e.logger, DryRun: dry, CheckEvery: be.checkEvery}, nil
	}
	// A file from the deployment package is read now, so a broken one
	// fails the init phase and every error shows in the log at once.
	if loc.Kind == "file" {
		if _, _, err := pol.Get(ctx); err != nil {
			closeFn()
			return nil, nil, err
		}
	}
	// In Lambda both streams go to CloudWatch Logs; locally stdout
	// carries the response alone.
	emfOut := e.stdout
	if local {
		emfOut = e.stderr
	}
	h := &lambdamode.Handler{
		Policies: pol,
		Build:    build,
		Metrics:  &lambdamode.EMF{W: emfOut, Namespace: e.getenv(envNamespace)},
		Logger:   e.logger,
	}
	return h, func() {
		if prevClose != nil {
			prevClose()
		}
		closeFn()
	}, nil
}

// campaignGate makes a lease usable from a function: each change first
// campaigns for (or renews) the lease, since no daemon loop does it.
type campaignGate struct{ l *state.Lease }

func (g campaignGate) MayApply(ctx context.Context) (bool, error) {
	if !g.l.Leader() {
		if _, err := g.l.Campaign(ctx); err != nil {
			return false, err
		}
	}
	return g.l.MayApply(ctx)
}

func envDuration(e *env, name string, def time.Duration) (time.Duration, error) {
	v := e.getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s=%q: want a duration such as 5m", name, v)
	}
	return d, nil
}

var _ lambda.Handler = lambdamode.Runtime{}
