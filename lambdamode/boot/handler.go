package boot

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awswire"
	"github.com/autotuner/autotuner/lambdamode"
	"github.com/autotuner/autotuner/state"
)

// BackendFunc connects the sensor and actuators for a policies file.
type BackendFunc func(ctx context.Context, f *config.File) (*awswire.Backend, error)

// Options are what differs between the bootstrap, the CLI and tests.
type Options struct {
	// Backend defaults to awswire.New.
	Backend BackendFunc
	// Selector expands selector entries; it defaults to awswire.Selector.
	Selector config.Selector
	// Local handles one event outside Lambda: a state table is optional
	// (StatePath is used without one) and metrics go to Stderr, so that
	// Stdout carries the response alone.
	Local     bool
	StatePath string
}

// stores is where the controller keeps memory, the lease and the audit.
type stores struct {
	store controller.Store
	gate  controller.Gate
	audit controller.AuditSink
	close func()
}

// NewHandler wires the handler from the environment. Nothing here touches
// the network: clients are built now, and used on the first event. A
// policies file from the deployment package is read now, so a broken one
// fails the init phase with every error in the log at once.
func NewHandler(ctx context.Context, e Env, o Options) (*lambdamode.Handler, func(), error) {
	loc, err := lambdamode.ParseLocation(e.Getenv(EnvPolicies), e.Getenv("LAMBDA_TASK_ROOT"))
	if err != nil {
		return nil, nil, err
	}
	s, err := readSettings(e)
	if err != nil {
		return nil, nil, err
	}
	if s.table == "" && !o.Local {
		return nil, nil, fmt.Errorf("%s is not set: the Lambda mode keeps state in DynamoDB", EnvStateTable)
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	o.defaults(ctx, e)
	pol := policiesSource(cfg, loc, s, o.Selector)
	st, err := openStores(cfg, s, o.StatePath)
	if err != nil {
		return nil, nil, err
	}
	build, closeBackend := builder(e, s, o.Backend, st)
	if loc.Kind == "file" {
		if _, _, err := pol.Get(ctx); err != nil {
			st.close()
			return nil, nil, err
		}
	}
	emfOut := e.Stdout // in Lambda both streams go to CloudWatch Logs
	if o.Local {
		emfOut = e.Stderr
	}
	h := &lambdamode.Handler{
		Policies: pol,
		Build:    build,
		Metrics:  &lambdamode.EMF{W: emfOut, Namespace: s.namespace},
		Logger:   e.Logger,
	}
	return h, func() { closeBackend(); st.close() }, nil
}

func (o *Options) defaults(ctx context.Context, e Env) {
	we := awswire.Env{Getenv: e.Getenv, Logger: e.Logger}
	if o.Backend == nil {
		o.Backend = func(ctx context.Context, f *config.File) (*awswire.Backend, error) { return awswire.New(ctx, we, f) }
	}
	if o.Selector == nil {
		o.Selector = awswire.Selector(ctx, we, "")
	}
}

// policiesSource reads the policies from the package, S3 or SSM, with the
// SDK's clients for the latter two.
func policiesSource(cfg aws.Config, loc lambdamode.Location, s settings, sel config.Selector) *lambdamode.Policies {
	pol := &lambdamode.Policies{Loc: loc, Refresh: s.refresh, Selector: sel}
	switch loc.Kind {
	case "s3":
		pol.S3 = s3.NewFromConfig(cfg)
	case "ssm":
		pol.SSM = lambdamode.SSMParameters{Client: ssm.NewFromConfig(cfg)}
	}
	return pol
}

// openStores keeps state, the lease and the audit in the DynamoDB table,
// or (locally, without a table) state in a file.
func openStores(cfg aws.Config, s settings, statePath string) (*stores, error) {
	if s.table == "" {
		if statePath == "" {
			statePath = "autotuner-state.json"
		}
		f, err := state.OpenFile(statePath)
		if err != nil {
			return nil, err
		}
		return &stores{store: f, close: func() { f.Close() }}, nil
	}
	ddb := dynamodb.NewFromConfig(cfg)
	st := state.NewDynamoDB(ddb, s.table)
	out := &stores{store: st, close: func() {}}
	if s.lease != "" {
		host, _ := os.Hostname()
		l := &state.Lease{Client: ddb, Table: s.table, Name: s.lease, Owner: fmt.Sprintf("lambda:%s:%d", host, os.Getpid()), TTL: s.leaseTTL}
		st.Fence = l.Token
		out.gate = CampaignGate{Lease: l}
	}
	if s.auditTTL > 0 {
		out.audit = &state.DynamoDBAudit{Client: ddb, Table: s.table, TTL: s.auditTTL}
	}
	return out, nil
}

// builder makes the controller for a policies file. Within a warm
// container the policies and clients are reused; the backend is rebuilt
// only when the policies file changes, and the previous one closed.
func builder(e Env, s settings, backend BackendFunc, st *stores) (lambdamode.Build, func()) {
	var prevClose func()
	closeFn := func() {
		if prevClose != nil {
			prevClose()
		}
	}
	build := func(ctx context.Context, f *config.File) (*controller.Controller, error) {
		be, err := backend(ctx, f)
		if err != nil {
			return nil, err
		}
		closeFn()
		prevClose = be.Close
		return &controller.Controller{Config: f, Sensor: be.Sensor, Actuators: be.Actuators, Store: st.store, Gate: st.gate,
			Audit: st.audit, Logger: e.Logger, DryRun: s.dryRun, CheckEvery: be.CheckEvery}, nil
	}
	return build, closeFn
}
