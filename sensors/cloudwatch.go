package sensors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsclient"
	"github.com/autotuner/autotuner/policy"
)

// QueueAttributesAPI is the one SQS call the sensor makes.
type QueueAttributesAPI interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// Clients are the two readers of one region and role.
type Clients struct {
	Metrics cloudwatch.GetMetricDataAPIClient
	Queues  QueueAttributesAPI
}

// CloudWatch is the tick's sensor.
type CloudWatch struct {
	// Clients returns the readers of a region and role ("" for the
	// defaults).
	Clients func(region, role string) (Clients, error)
	// Lookback is how many periods before the newest complete one are
	// read; 0 means DefaultLookback.
	Lookback int
	// Parallelism bounds concurrent calls; 0 means 4.
	Parallelism int
	// Region is the region of targets that name none, so that their
	// queries share calls with those that name it.
	Region string
	Logger *slog.Logger

	mu    sync.Mutex
	stats Stats
}

var _ controller.Sensor = (*CloudWatch)(nil)

// Stats count the sensor's calls, for tests, benchmarks and metrics.
type Stats struct {
	GetMetricData      int // calls, pages included
	Queries            int // distinct queries in the last tick
	GetQueueAttributes int
}

// Stats returns the calls made so far.
func (c *CloudWatch) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// FromFactory adapts an awsclient.Factory.
func FromFactory(f *awsclient.Factory) func(region, role string) (Clients, error) {
	return func(region, role string) (Clients, error) {
		c, err := f.For(region, role)
		if err != nil {
			return Clients{}, err
		}
		return Clients{Metrics: c.CloudWatch, Queues: c.SQS}, nil
	}
}

// Read gathers every target's signals in as few calls as possible. A call
// that fails leaves its signals missing (never zero); Read returns an
// error only when every call failed, so one bad region does not blind the
// others.
func (c *CloudWatch) Read(ctx context.Context, targets []*config.Target, now time.Time) (map[string]policy.Signals, error) {
	lookback := c.Lookback
	if lookback <= 0 {
		lookback = DefaultLookback
	}
	p := newPlan(targets, now, lookback, c.Region)
	c.mu.Lock()
	c.stats.Queries = p.Queries
	c.mu.Unlock()

	out := map[string]policy.Signals{}
	for _, t := range targets {
		// Every declared signal appears, missing until read.
		m := policy.Signals{}
		for _, s := range t.SignalList {
			m[s.Name] = policy.Signal{}
		}
		out[t.Name] = m
	}
	// A job is one call (a batch of queries, or one queue) and the target
	// signals it serves, which say why they are missing when it fails.
	type job struct {
		run  func(ctx context.Context, into map[string]policy.Signals) error
		refs []ref
	}
	var jobs []job
	for _, b := range p.Batches {
		var refs []ref
		for _, rs := range b.fan {
			refs = append(refs, rs...)
		}
		jobs = append(jobs, job{func(ctx context.Context, into map[string]policy.Signals) error { return c.readBatch(ctx, b, into) }, refs})
	}
	for _, r := range p.sqs {
		jobs = append(jobs, job{func(ctx context.Context, into map[string]policy.Signals) error { return c.readQueue(ctx, r, now, into) }, r.refs})
	}
	if len(jobs) == 0 {
		return out, nil
	}
	par := c.Parallelism
	if par <= 0 {
		par = 4
	}
	var mu sync.Mutex
	var errs []error
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			part := map[string]policy.Signals{}
			err := j.run(ctx, part)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				for _, r := range j.refs {
					if s := out[r.target][r.sig.Name]; !s.Valid {
						out[r.target][r.sig.Name] = policy.Signal{Why: why(err), Failed: string(controller.Classify(err))}
					}
				}
				return
			}
			for tn, sigs := range part {
				for k, v := range sigs {
					out[tn][k] = v
				}
			}
		})
	}
	wg.Wait()
	if len(errs) == len(jobs) {
		return out, errors.Join(errs...)
	}
	for _, err := range errs {
		c.logger().Warn("a signal read failed; its signals are missing this tick", "err", err)
	}
	return out, nil
}

// why is a failed call's error, short enough for an audit record.
func why(err error) string {
	n := 300
	msg := err.Error()
	if len(msg) <= n {
		return msg
	}
	for n > 0 && !utf8.RuneStart(msg[n]) {
		n--
	}
	return msg[:n] + "…"
}

func (c *CloudWatch) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}

// maxPages bounds NextToken paging: 500 queries × a few periods never need
// more than a handful, so more means a misbehaving endpoint.
const maxPages = 100

func (c *CloudWatch) readBatch(ctx context.Context, b *batch, out map[string]policy.Signals) error {
	cl, err := c.Clients(b.class.region, b.class.role)
	if err != nil {
		return err
	}
	in := &cloudwatch.GetMetricDataInput{
		StartTime:         aws.Time(b.start),
		EndTime:           aws.Time(b.end),
		MetricDataQueries: b.queries,
		ScanBy:            types.ScanByTimestampDescending,
	}
	acc := map[string]*series{}
	for page := 0; ; page++ {
		if page == maxPages {
			return awsclient.Refuse(awsclient.ClassTransient, "GetMetricData", "", "more than %d pages; stopping", maxPages)
		}
		c.mu.Lock()
		c.stats.GetMetricData++
		c.mu.Unlock()
		res, err := cl.Metrics.GetMetricData(ctx, in)
		if err != nil {
			return awsclient.Wrap("GetMetricData", fmt.Sprintf("%d queries", len(b.queries)), err)
		}
		merge(acc, res.MetricDataResults)
		for _, m := range res.Messages {
			c.logger().Warn("GetMetricData message", "code", aws.ToString(m.Code), "message", aws.ToString(m.Value))
		}
		if res.NextToken == nil || *res.NextToken == "" {
			break
		}
		next := *in
		next.NextToken = res.NextToken
		in = &next
	}
	for id, s := range acc {
		if s.status != types.StatusCodeComplete && s.status != "" {
			c.logger().Warn("CloudWatch query not complete; its signals are missing", "id", id, "status", string(s.status))
		}
	}
	b.fanOut(acc, out)
	return nil
}

func (c *CloudWatch) readQueue(ctx context.Context, r *sqsRead, now time.Time, out map[string]policy.Signals) error {
	cl, err := c.Clients(r.region, r.role)
	if err != nil {
		return err
	}
	names := make([]sqstypes.QueueAttributeName, len(r.attrs))
	for i, a := range r.attrs {
		names[i] = sqstypes.QueueAttributeName(a)
	}
	c.mu.Lock()
	c.stats.GetQueueAttributes++
	c.mu.Unlock()
	res, err := cl.Queues.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(r.url), AttributeNames: names})
	if err != nil {
		return awsclient.Wrap("GetQueueAttributes", r.url, err)
	}
	for _, ref := range r.refs {
		var sig policy.Signal
		if v, ok := res.Attributes[ref.sig.Attribute]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				// Stamped at the minute, not the instant: a real-time
				// reading is new information once a minute, so ticking
				// faster never counts it (and the datapoints beside it)
				// twice.
				sig = policy.Reading(f, now.Truncate(time.Minute))
			}
		}
		m := out[ref.target]
		if m == nil {
			m = policy.Signals{}
			out[ref.target] = m
		}
		m[ref.sig.Name] = sig
	}
	return nil
}
