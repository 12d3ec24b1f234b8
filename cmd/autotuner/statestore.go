package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/state"
)

// newStateDynamoDB is the DynamoDB client for the state table; tests
// replace it. State calls are data-plane calls, so they are not paced
// with the control-plane limits of the AWS backend.
var newStateDynamoDB = func(ctx context.Context, region string) (state.DynamoDBAPI, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = region
	}
	if cfg.Region == "" {
		return nil, errors.New("no AWS region for the state table: set AWS_REGION or defaults.region")
	}
	return dynamodb.NewFromConfig(cfg), nil
}

// open opens the chosen store; region is the policies file's default,
// used for the state table when the environment names none.
func (s *stateOpts) open(ctx context.Context, region string) (*openState, error) {
	if *s.table == "" {
		if *s.lease != "" {
			return nil, errors.New("--lease needs --state-table: replicas share state and the lease through DynamoDB")
		}
		if *s.auditTTL != 0 {
			return nil, errors.New("--audit-ttl needs --state-table")
		}
		f, err := state.OpenFile(*s.path)
		if err != nil {
			return nil, err
		}
		return &openState{store: f, close: func() { f.Close() }}, nil
	}
	c, err := newStateDynamoDB(ctx, region)
	if err != nil {
		return nil, err
	}
	st := state.NewDynamoDB(c, *s.table)
	o := &openState{store: st, ddb: c, close: func() {}}
	if *s.lease != "" {
		owner := *s.owner
		if owner == "" {
			host, _ := os.Hostname()
			owner = fmt.Sprintf("%s:%d", host, os.Getpid())
		}
		if *s.leaseTTL <= 0 {
			return nil, errors.New("--lease-ttl must be positive")
		}
		o.lease = &state.Lease{Client: c, Table: *s.table, Name: *s.lease, Owner: owner, TTL: *s.leaseTTL, Now: daemonClock.Now}
		st.Fence = o.lease.Token
	}
	if *s.auditTTL > 0 {
		o.audit = &state.DynamoDBAudit{Client: c, Table: *s.table, TTL: *s.auditTTL}
	}
	return o, nil
}

var _ controller.Store = (*state.DynamoDB)(nil)
