package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/autotuner/autotuner/actuators"
	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsclient"
	"github.com/autotuner/autotuner/internal/awsfake"
	"github.com/autotuner/autotuner/internal/testenv"
	"github.com/autotuner/autotuner/sensors"
	"github.com/autotuner/autotuner/state"
)

var soakTicks = flag.Int("soak.ticks", 1000, "minutes the chaos soak runs (go test ./cmd/autotuner -run TestChaosSoak -soak.ticks=10000 for the long run)")

const soakPolicies = `version: 1
defaults:
  interval: 1m
  region: us-east-1
targets:
  - name: fn-a
    kind: lambda-reserved-concurrency
    function: fn-a
    min: 10
    max: 300
    signals:
      busy: {namespace: AWS/Lambda, metric: ConcurrentExecutions, dimensions: {FunctionName: fn-a}, stat: Maximum}
    policy:
      autotuner:
        utilization: {signal: busy, target: 70%}
        up: {max_step: 100%, cooldown: 2m, after: 1}
        down: {after: 2, cooldown: 5m, stabilization: 5m}
  - name: fn-b
    kind: lambda-reserved-concurrency
    function: fn-b
    min: 20
    max: 400
    signals:
      busy: {namespace: AWS/Lambda, metric: ConcurrentExecutions, dimensions: {FunctionName: fn-b}, stat: Maximum}
    policy:
      autotuner:
        utilization: {signal: busy, target: 70%}
        up: {max_step: 100%, cooldown: 2m, after: 1}
        down: {after: 2, cooldown: 5m, stabilization: 5m}
  - name: tbl-read
    kind: dynamodb-provisioned
    table: orders
    capacity: read
    min: 5
    max: 1000
    signals:
      consumed: {namespace: AWS/DynamoDB, metric: ConsumedReadCapacityUnits, dimensions: {TableName: orders}, stat: Sum, per_second: true}
    policy:
      autotuner:
        utilization: {signal: consumed, target: 70%}
        up: {max_step: 100%, cooldown: 3m, after: 1}
        down: {after: 3, cooldown: 15m, stabilization: 10m}
  - name: tbl-write
    kind: dynamodb-provisioned
    table: orders
    capacity: write
    min: 5
    max: 1000
    signals:
      consumed: {namespace: AWS/DynamoDB, metric: ConsumedWriteCapacityUnits, dimensions: {TableName: orders}, stat: Sum, per_second: true}
    policy:
      autotuner:
        utilization: {signal: consumed, target: 70%}
        up: {max_step: 100%, cooldown: 3m, after: 1}
        down: {after: 3, cooldown: 15m, stabilization: 10m}
`

// soakTarget is a target's bounds, starting value and demand curve.
type soakTarget struct {
	name     string
	min, max float64
	initial  float64
	base     float64 // mean demand; it swings ±80% over the period
	period   time.Duration
}

var soakTargets = []soakTarget{
	{name: "fn-a", min: 10, max: 300, initial: 50, base: 60, period: 97 * time.Minute},
	{name: "fn-b", min: 20, max: 400, initial: 100, base: 150, period: 181 * time.Minute},
	{name: "tbl-read", min: 5, max: 1000, initial: 100, base: 200, period: 6 * time.Hour},
	{name: "tbl-write", min: 5, max: 1000, initial: 100, base: 120, period: 9 * time.Hour},
}

// soakStats are the soak's figures, for the report.
type soakStats struct {
	mu                                   sync.Mutex
	calls, throttled, failed5xx, dropped int
	partial                              int
	stuck, pauses, kills, conflicts      int
	quotaViolations                      int
	ticks, leaderTicks                   int
}

// soak is the world: the fakes, the clock, the shared state table.
type soak struct {
	t     *testing.T
	fake  *awsfake.Server
	ddb   *dynamodb.Client
	table string
	f     *config.File

	mu  sync.Mutex
	now time.Time
	rng *rand.Rand

	stats   soakStats
	served  map[string]map[string]bool // target@minute → replicas whose change was served
	landed  map[string]int             // target → changes that reached the service
	trans   map[string][]string
	current map[string]float64
}

func (s *soak) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

func (s *soak) chance(p float64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.Float64() < p
}

func (s *soak) intn(n int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.IntN(n)
}

// demand is what a target is asked to carry at ts.
func (s *soak) demand(name string, ts time.Time) float64 {
	for _, st := range soakTargets {
		if st.name == name {
			x := float64(ts.Sub(time.Unix(0, 0))) / float64(st.period)
			return st.base * (1 + 0.8*math.Sin(2*math.Pi*x))
		}
	}
	return 0
}

// value reads a target's knob from the fakes.
func (s *soak) value(name string) float64 {
	switch name {
	case "tbl-read":
		return float64(s.fake.DynamoDB.Table("orders").Provisioned.Read)
	case "tbl-write":
		return float64(s.fake.DynamoDB.Table("orders").Provisioned.Write)
	}
	if r := s.fake.Lambda.Reserved(name); r != nil {
		return float64(*r)
	}
	return math.NaN()
}

// metric answers CloudWatch: load capped by the limit in force.
func (s *soak) metric(q awsfake.MetricDataQuery, ts time.Time) (float64, bool) {
	m := q.Metric()
	switch m.Name {
	case "ConcurrentExecutions":
		fn := m.Dimensions["FunctionName"]
		return math.Min(s.demand(fn, ts), s.value(fn)), true
	case "ConsumedReadCapacityUnits":
		return 60 * math.Min(s.demand("tbl-read", ts), s.value("tbl-read")), true
	case "ConsumedWriteCapacityUnits":
		return 60 * math.Min(s.demand("tbl-write", ts), s.value("tbl-write")), true
	}
	return 0, false
}

// chaos decides the fate of one call to the fakes: 20% throttled, 5% a
// 5xx, 2% served with the answer lost (a timeout, as the client sees it).
func (s *soak) chaos(c awsfake.Call) awsfake.Fault {
	if c.Service == "sts" {
		return awsfake.Fault{}
	}
	s.mu.Lock()
	r := s.rng.Float64()
	s.mu.Unlock()
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	s.stats.calls++
	var f awsfake.Fault
	switch {
	case r < 0.20:
		e := awsfake.ThrottleError(c.Service)
		f.Err = &e
		s.stats.throttled++
	case r < 0.25:
		e := awsfake.ServerError(c.Service)
		f.Err = &e
		s.stats.failed5xx++
	case r < 0.27:
		f.Drop = true
		s.stats.dropped++
	}
	if f.Err == nil && (c.Op == "PutFunctionConcurrency" || c.Op == "UpdateTable") {
		s.noteServed(c)
	}
	return f
}

// noteServed records which replica's change reached the service in
// which minute.
func (s *soak) noteServed(c awsfake.Call) {
	var targets []string
	switch c.Op {
	case "PutFunctionConcurrency":
		targets = []string{strings.Split(strings.TrimPrefix(c.Path, "/2017-10-31/functions/"), "/")[0]}
	case "UpdateTable":
		var in struct {
			ProvisionedThroughput *struct{ ReadCapacityUnits, WriteCapacityUnits int64 }
		}
		json.Unmarshal(c.Body, &in)
		if in.ProvisionedThroughput != nil {
			targets = []string{"tbl-read", "tbl-write"} // one call carries both
		}
	}
	minute := s.clock().Format(time.RFC3339)
	for _, tg := range targets {
		k := tg + "@" + minute
		if s.served[k] == nil {
			s.served[k] = map[string]bool{}
		}
		s.served[k][c.Header.Get("X-Soak-Replica")] = true
	}
}

// answered counts the services' own refusals on quota grounds: a change
// autotuner should never have sent.
func (s *soak) answered(c awsfake.Call, _ int, body []byte) {
	if bytes.Contains(body, []byte("LimitExceeded")) || bytes.Contains(body, []byte("below its minimum")) {
		s.stats.mu.Lock()
		s.stats.quotaViolations++
		s.stats.mu.Unlock()
		s.t.Errorf("quota violated by %s %s: %s", c.Op, c.Path, body)
	}
}

// tagged marks each request with its replica, so the served changes say
// who sent them.
type tagged struct {
	name string
	c    *http.Client
}

func (h tagged) Do(r *http.Request) (*http.Response, error) {
	r.Header.Set("X-Soak-Replica", h.name)
	return h.c.Do(r)
}

// conflicting is the state table as a replica sees it, with 2% of its
// state writes lost to another writer.
type conflicting struct {
	state.DynamoDBAPI
	s *soak
}

func (c conflicting) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if sk, ok := in.Item["sk"].(*types.AttributeValueMemberS); ok && sk.Value == "state" && c.s.chance(0.02) {
		c.s.stats.mu.Lock()
		c.s.stats.conflicts++
		c.s.stats.mu.Unlock()
		return nil, &types.ConditionalCheckFailedException{Message: aws.String("injected: another writer")}
	}
	return c.DynamoDBAPI.PutItem(ctx, in, opts...)
}

// replica is one autotuner process; a restart builds it afresh.
type replica struct {
	name   string
	gen    int
	ctl    *controller.Controller
	lease  *state.Lease
	paused time.Time       // it does not tick before then: its lease lapses
	armed  controller.Step // it dies when its tick reaches this step
}

func (s *soak) start(r *replica) {
	r.gen++
	fac, err := awsclient.New(context.Background(), awsclient.Options{
		Region: "us-east-1", NoRateLimits: true, MaxAttempts: 1,
		StaticCredentials: &aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"},
		HTTPClient:        tagged{name: r.name, c: &http.Client{}},
	})
	if err != nil {
		s.t.Fatal(err)
	}
	r.lease = &state.Lease{Client: s.ddb, Table: s.table, Name: "autotuner", Owner: fmt.Sprintf("%s#%d", r.name, r.gen), TTL: 2 * time.Minute, Now: s.clock}
	st := state.NewDynamoDB(conflicting{s.ddb, s}, s.table)
	st.Fence, st.Now = r.lease.Token, s.clock
	r.ctl = &controller.Controller{
		Config: s.f, Store: st, Gate: r.lease, Logger: discardLogger(),
		Sensor:    &sensors.CloudWatch{Clients: sensors.FromFactory(fac), Region: fac.Region(), Logger: discardLogger()},
		Actuators: actuators.All(fac.For),
		Audit:     &state.DynamoDBAudit{Client: s.ddb, Table: s.table},
	}
	r.armed = ""
}

// soakCrash is the panic that stands for a replica's process dying.
type soakCrash struct{}

// tick is one of r's ticks, as the daemon runs it: campaign, then apply
// as the leader or plan as a follower.
func (s *soak) tick(r *replica, now time.Time) {
	if now.Before(r.paused) {
		return
	}
	if r.armed == "" && s.stats.ticks%500 == 250 {
		// At least one kill every 500 ticks, at a step every tick reaches,
		// so the short soak never passes without a restart.
		r.armed = controller.StepDecided
	} else if r.armed == "" && s.chance(1.0/500) {
		steps := []controller.Step{controller.StepDecided, controller.StepIntentSaved, controller.StepIntentAudited,
			controller.StepApplied, controller.StepAudited, controller.StepSaved}
		r.armed = steps[s.intn(len(steps))]
	}
	if s.chance(1.0 / 400) {
		// A long pause (a partition, a stalled VM): the lease lapses and
		// the other replica takes over.
		r.paused = now.Add(time.Duration(3+s.intn(4)) * time.Minute)
		s.stats.pauses++
		return
	}
	ctx := context.Background()
	leader, _ := r.lease.Campaign(ctx)
	opt := controller.TickOptions{Plan: !leader, Standby: !leader}
	armed := r.armed
	r.ctl.OnStep = func(st controller.Step) {
		if st == armed {
			panic(soakCrash{})
		}
	}
	res, died := runSoakTick(r.ctl, now, opt)
	s.stats.ticks++
	if leader {
		s.stats.leaderTicks++
	}
	if died {
		s.stats.kills++
		s.start(r) // the process restarts; its lease is left to lapse
		return
	}
	for _, rec := range append(res.Records, res.Recovered...) {
		if rec.ErrorClass == controller.ClassInternal {
			s.t.Errorf("%s: internal error (a panic caught) at %v: %+v", r.name, now, rec)
		}
	}
}

func runSoakTick(c *controller.Controller, now time.Time, opt controller.TickOptions) (res *controller.Result, died bool) {
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(soakCrash); !ok {
				panic(p)
			}
			died = true
		}
	}()
	res, _ = c.Tick(context.Background(), now, opt)
	return res, false
}

// observe compares the knobs with the last minute's: every difference is
// a change that reached the service; every value stays within bounds.
func (s *soak) observe(now time.Time) {
	for _, st := range soakTargets {
		v := s.value(st.name)
		if v < st.min || v > st.max {
			s.t.Errorf("%v: %s = %v, outside [%v, %v]", now, st.name, v, st.min, st.max)
		}
		if v != s.current[st.name] {
			s.trans[st.name] = append(s.trans[st.name], fmt.Sprintf("%s %v→%v", now.Format("15:04"), s.current[st.name], v))
			s.landed[st.name]++
			s.current[st.name] = v
		}
	}
}

// The chaos soak: two replicas share the DynamoDB state table on
// dynalite and tick for -soak.ticks minutes of virtual time against the
// wire fakes, under throttling, 5xx, lost answers, partial CloudWatch
// results, tables stuck UPDATING, lease loss, state-store conflicts and
// process kills at random steps. No panic, no bound or quota broken,
// every change that reached a service audited exactly once and sent by
// one replica only, and revert restores every original at the end.
func TestChaosSoak(t *testing.T) {
	url := testenv.Dynalite(t, testenv.DynaliteOptions{})
	ddb := dynaliteClient(url)
	createStateTable(t, ddb, "soak")
	fake := awsfake.Start(t)
	s := &soak{
		t: t, fake: fake, ddb: ddb, table: "soak", now: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC),
		rng:    rand.New(rand.NewPCG(11, 2026)),
		served: map[string]map[string]bool{}, landed: map[string]int{}, trans: map[string][]string{}, current: map[string]float64{},
	}
	fake.Now = s.clock
	a, b := 50, 100
	fake.Lambda.AddFunction("fn-a", &a)
	fake.Lambda.AddFunction("fn-b", &b)
	fake.DynamoDB.AddTable("orders", awsfake.Table{Provisioned: awsfake.Capacity{Read: 100, Write: 100}})
	fake.DynamoDB.SetUpdateDuration(time.Minute)
	fake.CloudWatch.Value = s.metric
	fake.CloudWatch.StatusFunc = func(awsfake.MetricDataQuery) string {
		if s.chance(0.05) {
			s.stats.mu.Lock()
			s.stats.partial++
			s.stats.mu.Unlock()
			return "PartialData"
		}
		return ""
	}
	fake.Chaos, fake.Answered = s.chaos, s.answered
	dir := t.TempDir()
	cfg := filepath.Join(dir, "policies.yaml")
	if err := os.WriteFile(cfg, []byte(soakPolicies), 0o644); err != nil {
		t.Fatal(err)
	}
	var err error
	if s.f, err = config.Load(cfg); err != nil {
		t.Fatal(err)
	}
	for _, st := range soakTargets {
		s.current[st.name] = st.initial
	}

	began := time.Now()
	replicas := []*replica{{name: "r1"}, {name: "r2"}}
	for _, r := range replicas {
		s.start(r)
	}
	stuckUntil := time.Time{}
	for i := range *soakTicks {
		now := s.clock()
		if now.After(stuckUntil) && s.chance(1.0/300) {
			stuckUntil = now.Add(20 * time.Minute) // a table stays UPDATING for 20 minutes
			fake.DynamoDB.SetUpdateDuration(20 * time.Minute)
			s.stats.stuck++
		} else if now.After(stuckUntil) {
			fake.DynamoDB.SetUpdateDuration(time.Minute)
		}
		first := i % 2 // both orders happen
		// Observe after each replica's tick, so two changes in one minute
		// (one replica's, then the other's after a takeover) count as two.
		s.tick(replicas[first], now)
		s.observe(now)
		s.tick(replicas[1-first], now)
		s.observe(now)
		s.mu.Lock()
		s.now = s.now.Add(time.Minute)
		s.mu.Unlock()
		if t.Failed() {
			t.Fatalf("stopped at tick %d", i)
		}
	}
	fake.Chaos, fake.CloudWatch.StatusFunc = nil, nil
	// A table change still UPDATING when the soak ends has reached the
	// service (and is audited): let it finish before counting.
	s.mu.Lock()
	s.now = s.now.Add(30 * time.Minute)
	s.mu.Unlock()
	s.observe(s.clock())
	took := time.Since(began)

	s.checkTwoReplicas()
	s.checkAudit()
	s.checkRevert(cfg)
	total := 0
	for _, n := range s.landed {
		total += n
	}
	st := &s.stats
	t.Logf("soak: %d minutes, %d replica ticks (%d as leader) in %v; %d calls: %d throttled, %d 5xx, %d answers lost; %d partial CloudWatch results; %d tables stuck UPDATING; %d lease losses; %d state conflicts; %d kills; %d changes landed %v; %d quota violations",
		*soakTicks, st.ticks, st.leaderTicks, took.Round(time.Millisecond), st.calls, st.throttled, st.failed5xx, st.dropped,
		st.partial, st.stuck, st.pauses, st.conflicts, st.kills, total, s.landed, st.quotaViolations)
	if total == 0 || st.kills == 0 && *soakTicks >= 1000 {
		t.Errorf("the soak exercised too little: %d changes, %d kills", total, st.kills)
	}
}

// checkTwoReplicas: no change reached a service from two replicas.
func (s *soak) checkTwoReplicas() {
	for k, who := range s.served {
		if len(who) > 1 {
			s.t.Errorf("%s: changes sent by %d replicas: %v", k, len(who), who)
		}
	}
}

// checkAudit: every change that reached a service has exactly one
// applied line in the shared audit, and there is no other.
func (s *soak) checkAudit() {
	ctx := context.Background()
	for _, st := range soakTargets {
		applied := map[string]int{}
		var descr []string
		p := dynamodb.NewQueryPaginator(s.ddb, &dynamodb.QueryInput{
			TableName:              aws.String(s.table),
			KeyConditionExpression: aws.String("pk = :t AND begins_with(sk, :a)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":t": &types.AttributeValueMemberS{Value: st.name}, ":a": &types.AttributeValueMemberS{Value: "audit#"},
			},
		})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				s.t.Fatal(err)
			}
			for _, item := range out.Items {
				var rec controller.Record
				raw, _ := item["record"].(*types.AttributeValueMemberS)
				if raw == nil || json.Unmarshal([]byte(raw.Value), &rec) != nil {
					s.t.Fatalf("%s: unreadable audit item %v", st.name, item)
				}
				if rec.Applied && !rec.Intent {
					applied[rec.Change]++
					descr = append(descr, fmt.Sprintf("%s %v→%v rec=%v err=%q", rec.Change, rec.Current, rec.Final, rec.Recovered, rec.Error))
				}
			}
		}
		for id, n := range applied {
			if n != 1 {
				s.t.Errorf("change %s audited %d times", id, n)
			}
		}
		if len(applied) != s.landed[st.name] {
			s.t.Errorf("%s: %d changes reached the service, %d audited as applied", st.name, s.landed[st.name], len(applied))
			s.t.Logf("%s: changes seen at the service %v\naudited as applied %v", st.name, s.trans[st.name], descr)
		}
	}
}

// checkRevert runs the real revert until it is done (a table's
// decreases and UPDATING may make it wait) and finds every original.
func (s *soak) checkRevert(cfg string) {
	useStateTable(s.t, s.ddb)
	var last string
	for attempt := 0; attempt < 6; attempt++ {
		s.mu.Lock()
		s.now = s.now.Add(25 * time.Hour) // tables ACTIVE, a new day's decreases
		s.mu.Unlock()
		var out, errb bytes.Buffer
		code := run(context.Background(), testEnv(&out, &errb), []string{"revert", "-c", cfg, "--state-table", s.table})
		last = out.String() + errb.String()
		if code == exitOK {
			break
		}
	}
	s.mu.Lock()
	s.now = s.now.Add(25 * time.Hour)
	s.mu.Unlock()
	for _, st := range soakTargets {
		if v := s.value(st.name); v != st.initial {
			s.t.Errorf("%s after revert = %v, want the original %v\n%s", st.name, v, st.initial, last)
		}
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
