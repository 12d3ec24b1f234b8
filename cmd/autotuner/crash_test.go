package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsfake"
	"github.com/autotuner/autotuner/internal/testenv"
	"github.com/autotuner/autotuner/state"
)

// The kill harness: a helper process (this test binary, started again)
// runs one real tick (the AWS backend over the wire fakes, the file
// state or the DynamoDB state on dynalite, an audit file) and kills
// itself with SIGKILL at a named point. A second process then ticks
// normally, and the test checks what an operator would.

const crashPolicies = `version: 1
defaults:
  interval: 1m
  region: us-east-1
targets:
  - name: fn-a
    kind: lambda-reserved-concurrency
    function: fn-a
    min: 10
    max: 400
    signals:
      busy: {namespace: AWS/Lambda, metric: ConcurrentExecutions, dimensions: {FunctionName: fn-a}, stat: Maximum}
    policy:
      autotuner:
        utilization: {signal: busy, target: 70%}
        up: {max_step: 100%, cooldown: 10m, after: 1}
  - name: fn-b
    kind: lambda-reserved-concurrency
    function: fn-b
    min: 10
    max: 400
    signals:
      busy: {namespace: AWS/Lambda, metric: ConcurrentExecutions, dimensions: {FunctionName: fn-b}, stat: Maximum}
    policy:
      autotuner:
        utilization: {signal: busy, target: 70%}
        up: {max_step: 100%, cooldown: 10m, after: 1}
`

// crashPoints are where the helper dies: the controller's steps, the
// N-th state write and the N-th audit line (half written). Two targets
// change: audit lines 1–2 are the intents, 3–4 the outcomes.
var crashPoints = []string{
	string(controller.StepDecided), string(controller.StepIntentSaved), string(controller.StepIntentAudited),
	string(controller.StepApplied), string(controller.StepAudited), string(controller.StepSaved),
	"audit-1", "audit-2", "audit-3", "audit-4",
}

// The file store writes twice (after the temporary is written, before
// its rename): the intents, then the outcomes. The DynamoDB store writes
// each target's item (the crash comes right after it lands): two
// intents, then two outcomes.
var (
	fileWrites   = []string{"write-1", "write-2"}
	dynamoWrites = []string{"write-1", "write-2", "write-3", "write-4"}
)

func TestCrashHelper(t *testing.T) {
	if os.Getenv("AUTOTUNER_CRASH_HELPER") != "1" {
		t.Skip("runs only as the kill harness's helper process")
	}
	if err := crashHelper(); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(3)
	}
}

// counter dies on its n-th call.
type counter struct {
	mu   sync.Mutex
	n, k int
}

func (c *counter) hit() bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.k++
	return c.k == c.n
}

func crashPoint(at, kind string) *counter {
	if n, ok := strings.CutPrefix(at, kind+"-"); ok {
		k, _ := strconv.Atoi(n)
		return &counter{n: k}
	}
	return nil
}

func crashHelper() error {
	ctx := context.Background()
	at := os.Getenv("CRASH_AT")
	sec, err := strconv.ParseInt(os.Getenv("CRASH_NOW"), 10, 64)
	if err != nil {
		return err
	}
	now := time.Unix(sec, 0).UTC()
	f, err := config.Load(os.Getenv("CRASH_CONFIG"))
	if err != nil {
		return err
	}
	var errb bytes.Buffer
	be, err := awsBackend(ctx, testEnv(&bytes.Buffer{}, &errb), f)
	if err != nil {
		return err
	}
	c := &controller.Controller{Config: f, Sensor: be.sensor, Actuators: be.actuators, Logger: testEnv(&errb, &errb).logger}
	writes := crashPoint(at, "write")
	if url := os.Getenv("CRASH_DYNALITE"); url != "" {
		ddb := &dyingDynamoDB{DynamoDBAPI: dynaliteClient(url), at: writes}
		table := os.Getenv("CRASH_TABLE")
		lease := &state.Lease{Client: ddb, Table: table, Name: "autotuner", Owner: "replica", TTL: 30 * time.Second, Now: func() time.Time { return now }}
		if ok, err := lease.Campaign(ctx); !ok || err != nil {
			return fmt.Errorf("campaign: %v %v", ok, err)
		}
		st := state.NewDynamoDB(ddb, table)
		st.Fence, st.Now = lease.Token, func() time.Time { return now }
		c.Store, c.Gate = st, lease
	} else {
		st, err := state.OpenFile(os.Getenv("CRASH_STATE"))
		if err != nil {
			return err
		}
		defer st.Close()
		st.BeforeRename = func() {
			if writes.hit() {
				die()
			}
		}
		c.Store = st
	}
	sink, af, err := controller.OpenAuditFile(os.Getenv("CRASH_AUDIT"))
	if err != nil {
		return err
	}
	defer af.Close()
	c.Audit = &tornAudit{JSONLines: sink, f: af, at: crashPoint(at, "audit")}
	c.OnStep = func(s controller.Step) {
		if string(s) == at {
			die()
		}
	}
	_, err = c.Tick(ctx, now, controller.TickOptions{})
	return err
}

func dynaliteClient(url string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
}

// dyingDynamoDB dies right after its n-th state write lands.
type dyingDynamoDB struct {
	state.DynamoDBAPI
	at *counter
}

func (d *dyingDynamoDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	out, err := d.DynamoDBAPI.PutItem(ctx, in, opts...)
	if sk, ok := in.Item["sk"].(*types.AttributeValueMemberS); ok && sk.Value == "state" && err == nil && d.at.hit() {
		die()
	}
	return out, err
}

// tornAudit dies halfway through writing its n-th line.
type tornAudit struct {
	*controller.JSONLines
	f  *os.File
	at *counter
}

func (a *tornAudit) Write(r *controller.Record) error {
	if a.at.hit() {
		b, _ := json.Marshal(r)
		a.f.Write(b[:len(b)/2])
		die()
	}
	return a.JSONLines.Write(r)
}

// crashRig is one run of the harness: the fakes and where state lives.
type crashRig struct {
	fake            *awsfake.Server
	dir, cfg, audit string
	statePath       string
	dynalite, table string
	ddb             *dynamodb.Client
}

// helper runs one tick in a child process; it reports whether the child
// was killed.
func (r *crashRig) helper(t *testing.T, at string, now time.Time) bool {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), "AUTOTUNER_CRASH_HELPER=1", "CRASH_AT="+at, "CRASH_NOW="+strconv.FormatInt(now.Unix(), 10),
		"CRASH_CONFIG="+r.cfg, "CRASH_AUDIT="+r.audit, "CRASH_STATE="+r.statePath, "CRASH_DYNALITE="+r.dynalite, "CRASH_TABLE="+r.table)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return true
		}
	}
	if err != nil {
		t.Fatalf("helper (crash at %q): %v\n%s", at, err, out)
	}
	return false
}

func newCrashRig(t *testing.T, ddb *dynamodb.Client, dynalite, table string) *crashRig {
	fake := awsfake.Start(t)
	fifty, hundred := 50, 100
	fake.Lambda.AddFunction("fn-a", &fifty)
	fake.Lambda.AddFunction("fn-b", &hundred)
	// Every reserved slot busy: each function wants more.
	fake.CloudWatch.Value = func(q awsfake.MetricDataQuery, _ time.Time) (float64, bool) {
		if r := fake.Lambda.Reserved(q.Metric().Dimensions["FunctionName"]); r != nil {
			return float64(*r), true
		}
		return 0, false
	}
	// A quota the service had to enforce is a change autotuner should
	// never have sent.
	fake.Answered = func(c awsfake.Call, _ int, body []byte) {
		if bytes.Contains(body, []byte("LimitExceeded")) || bytes.Contains(body, []byte("below its minimum")) {
			t.Errorf("quota violated by %s %s: %s", c.Op, c.Path, body)
		}
	}
	dir := t.TempDir()
	r := &crashRig{fake: fake, dir: dir, cfg: filepath.Join(dir, "policies.yaml"), audit: filepath.Join(dir, "audit.jsonl"),
		statePath: filepath.Join(dir, "state.json"), dynalite: dynalite, table: table, ddb: ddb}
	if err := os.WriteFile(r.cfg, []byte(crashPolicies), 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

// Kill the process at every point of a tick, over the file state and over
// the DynamoDB state on dynalite; after each, check what matters.
func TestKillAtEveryStep(t *testing.T) {
	t.Run("file", func(t *testing.T) {
		for _, at := range append(crashPoints, fileWrites...) {
			t.Run(at, func(t *testing.T) { killAndCheck(t, newCrashRig(t, nil, "", "")) })
		}
	})
	t.Run("dynamodb", func(t *testing.T) {
		url := testenv.Dynalite(t, testenv.DynaliteOptions{})
		ddb := dynaliteClient(url)
		for i, at := range append(crashPoints, dynamoWrites...) {
			t.Run(at, func(t *testing.T) {
				table := fmt.Sprintf("crash%d", i)
				createStateTable(t, ddb, table)
				killAndCheck(t, newCrashRig(t, ddb, url, table))
			})
		}
	})
}

func createStateTable(t *testing.T, ddb *dynamodb.Client, table string) {
	t.Helper()
	ctx := context.Background()
	if _, err := ddb.CreateTable(ctx, state.CreateTableInput(table)); err != nil {
		t.Fatal(err)
	}
	w := dynamodb.NewTableExistsWaiter(ddb, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
}

var crashT0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func killAndCheck(t *testing.T, r *crashRig) {
	at := t.Name()[strings.LastIndex(t.Name(), "/")+1:]
	if !r.helper(t, at, crashT0) {
		t.Fatalf("the tick never reached %s", at)
	}
	// The restarted process: a minute later, within both cooldowns.
	r.helper(t, "", crashT0.Add(time.Minute))

	puts := r.fake.Calls("PutFunctionConcurrency")
	perFn := map[string][]float64{}
	for _, c := range puts {
		var in struct{ ReservedConcurrentExecutions float64 }
		json.Unmarshal(c.Body, &in)
		fn := strings.Split(strings.TrimPrefix(c.Path, "/2017-10-31/functions/"), "/")[0]
		perFn[fn] = append(perFn[fn], in.ReservedConcurrentExecutions)
	}
	orig := map[string]float64{"fn-a": 50, "fn-b": 100}
	for fn, vs := range perFn {
		// The 10-minute cooldown holds across the crash: one change each.
		if len(vs) != 1 {
			t.Errorf("%s changed %d times %v within its cooldown", fn, len(vs), vs)
		}
		for _, v := range vs {
			if v > 2*orig[fn] || v > 400 {
				t.Errorf("%s set to %v: past its step or bound", fn, v)
			}
		}
	}
	checkAuditMatches(t, r, perFn)
	checkOriginals(t, r, orig)
	if stale, _ := filepath.Glob(r.statePath + ".tmp-*"); len(stale) != 0 {
		t.Errorf("temporary state files left: %v", stale)
	}
	checkRevert(t, r, orig)
}

// checkAuditMatches: every change that reached the service has exactly
// one applied line, and there is no applied line for anything else.
func checkAuditMatches(t *testing.T, r *crashRig, perFn map[string][]float64) {
	t.Helper()
	b, err := os.ReadFile(r.audit)
	if err != nil {
		t.Fatal(err)
	}
	applied := map[string][]float64{}
	torn := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec controller.Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			torn++ // the line the crash cut
			continue
		}
		if rec.Applied && !rec.Intent {
			applied[rec.Target] = append(applied[rec.Target], rec.Final)
		}
	}
	if torn > 1 {
		t.Errorf("%d unreadable audit lines; a crash tears at most one", torn)
	}
	for _, fn := range []string{"fn-a", "fn-b"} {
		if fmt.Sprint(applied[fn]) != fmt.Sprint(perFn[fn]) {
			t.Errorf("%s: applied lines %v, changes that reached the service %v\n%s", fn, applied[fn], perFn[fn], b)
		}
	}
}

// checkOriginals: the original each target had before autotuner is what
// state remembers, and no intent is left pending.
func checkOriginals(t *testing.T, r *crashRig, orig map[string]float64) {
	t.Helper()
	var st controller.Store
	if r.ddb != nil {
		st = state.NewDynamoDB(r.ddb, r.table)
	} else {
		snap, err := state.ReadSnapshot(r.statePath)
		if err != nil {
			t.Fatal(err)
		}
		mem := state.NewMem()
		for n, m := range snap {
			mem.Save(context.Background(), n, m)
		}
		st = mem
	}
	for fn, v := range orig {
		m, err := st.Load(context.Background(), fn)
		if err != nil {
			t.Fatal(err)
		}
		if !m.Actuation.HaveOriginal || m.Actuation.Original != v || m.Actuation.Pending != nil {
			t.Errorf("%s: original %v (have %v), pending %+v; want %v, none pending", fn, m.Actuation.Original, m.Actuation.HaveOriginal, m.Actuation.Pending, v)
		}
	}
}

// checkRevert runs the real revert command and finds the originals back.
func checkRevert(t *testing.T, r *crashRig, orig map[string]float64) {
	t.Helper()
	args := []string{"revert", "-c", r.cfg, "--state", r.statePath}
	if r.ddb != nil {
		useStateTable(t, r.ddb)
		args = []string{"revert", "-c", r.cfg, "--state-table", r.table}
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), testEnv(&out, &errb), args); code != exitOK {
		t.Fatalf("revert exit %d\n%s%s", code, out.String(), errb.String())
	}
	for fn, v := range orig {
		if got := r.fake.Lambda.Reserved(fn); got == nil || float64(*got) != v {
			t.Errorf("%s after revert = %v, want %v", fn, got, v)
		}
	}
}
