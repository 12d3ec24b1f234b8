package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/autotuner/autotuner/ratelimit"
	"github.com/autotuner/autotuner/ratelimit/ratelimitprom"
)

// envLimiterTable names the bucket table of the limiter's Lambda task;
// inside Lambda, its presence makes the binary serve the task.
const envLimiterTable = "AUTOTUNER_LIMITER_TABLE"

func init() {
	register(command{name: "limiter", summary: "the shared rate limiter: serve, task, configure, describe (docs/ratelimit.md)", run: runLimiter,
		subcommands: []string{"serve", "task", "configure", "describe"}})
	prev := autoCommand
	autoCommand = func(e *env) string {
		if e.getenv("AWS_LAMBDA_RUNTIME_API") != "" && e.getenv(envLimiterTable) != "" {
			return "limiter"
		}
		return prev(e)
	}
}

const limiterUsage = `Usage: autotuner limiter COMMAND [flags]

  serve      answer POST /acquire over HTTP (127.0.0.1:8089 by default), /metrics, /healthz
  task       serve the Step Functions task as a Lambda function (` + envLimiterTable + `)
  configure  create a bucket or change its rate, burst and shards
  describe   print a bucket's limits and shards
`

// startLimiterTask hands the task to the Lambda runtime; tests replace it.
var startLimiterTask = func(ctx context.Context, t *ratelimit.Task) {
	lambda.StartWithOptions(t.Handle, lambda.WithContext(ctx))
}

// limiterListening is told the address limiter serve listens on, which
// --addr 127.0.0.1:0 leaves to the kernel; tests replace it.
var limiterListening = func(net.Addr) {}

func runLimiter(ctx context.Context, e *env, args []string) int {
	sub := "task" // inside Lambda, the runtime starts the binary bare
	if len(args) > 0 {
		sub, args = args[0], args[1:]
	}
	switch sub {
	case "serve":
		return limiterServe(ctx, e, args)
	case "task":
		return limiterTask(ctx, e, args)
	case "configure":
		return limiterConfigure(ctx, e, args)
	case "describe":
		return limiterDescribe(ctx, e, args)
	case "-h", "--help", "help":
		fmt.Fprint(e.stdout, limiterUsage)
		return exitOK
	}
	fmt.Fprintf(e.stderr, "autotuner limiter: unknown command %q\n\n%s", sub, limiterUsage)
	return exitUsage
}

// limiterFlags are the flags every limiter command shares.
type limiterFlags struct {
	table, onError *string
}

func addLimiterFlags(fs *flag.FlagSet, e *env) limiterFlags {
	return limiterFlags{
		table:   fs.String("table", e.getenv(envLimiterTable), "the bucket table (default $"+envLimiterTable+")"),
		onError: fs.String("on-error", string(ratelimit.FailClosed), "when DynamoDB cannot answer: closed (grant nothing) or open (grant)"),
	}
}

func (f limiterFlags) limiter(ctx context.Context, rec ratelimit.Recorder) (*ratelimit.Limiter, *dynamodb.Client, error) {
	if *f.table == "" {
		return nil, nil, errors.New("--table (or $" + envLimiterTable + ") is required")
	}
	mode := ratelimit.ErrorMode(*f.onError)
	if mode != ratelimit.FailClosed && mode != ratelimit.FailOpen {
		return nil, nil, fmt.Errorf("--on-error must be closed or open, got %q", *f.onError)
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, nil, err
	}
	api := dynamodb.NewFromConfig(cfg)
	return ratelimit.New(api, *f.table, ratelimit.Options{OnError: mode, Metrics: rec}), api, nil
}

func limiterServe(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "limiter serve", "--table T [--addr 127.0.0.1:8089]")
	lf := addLimiterFlags(fs, e)
	addr := fs.String("addr", "127.0.0.1:8089", "listen address; loopback unless you put an authenticating proxy in front")
	public := fs.Bool("addr-public", false, "allow --addr on an address other than loopback (logs a warning)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if err := checkLimiterAddr(*addr, *public, e); err != nil {
		fmt.Fprintf(e.stderr, "autotuner limiter serve: %v\n", err)
		return exitUsage
	}
	reg := prometheus.NewRegistry()
	l, _, err := lf.limiter(ctx, ratelimitprom.New(reg))
	if err != nil {
		fmt.Fprintf(e.stderr, "autotuner limiter serve: %v\n", err)
		return exitUsage
	}
	mux := http.NewServeMux()
	mux.Handle("/", (&ratelimit.Task{L: l}).HTTP())
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(e.stderr, "autotuner limiter serve: %v\n", err)
		return exitFailure
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	limiterListening(ln.Addr())
	e.logger.Info("limiter listening", "addr", ln.Addr().String(), "table", *lf.table)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(e.stderr, "autotuner limiter serve: %v\n", err)
		return exitFailure
	}
	return exitOK
}

func limiterTask(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "limiter task", "[--table T]")
	lf := addLimiterFlags(fs, e)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	em := &ratelimit.EMF{}
	l, _, err := lf.limiter(ctx, em)
	if err != nil {
		fmt.Fprintf(e.stderr, "autotuner limiter task: %v\n", err)
		return exitUsage
	}
	// Lambda turns each EMF line on stdout into metrics.
	startLimiterTask(ctx, &ratelimit.Task{L: l, Flush: func(at time.Time) { em.Flush(os.Stdout, at) }})
	return exitOK
}

func limiterConfigure(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "limiter configure", "--table T --bucket B --rate R [--burst N] [--shards N] [--create-table]")
	lf := addLimiterFlags(fs, e)
	bucket := fs.String("bucket", "", "the bucket")
	rate := fs.Float64("rate", 0, "tokens per second, the whole bucket")
	burst := fs.Float64("burst", -1, "most tokens the bucket holds (default: one second of the rate)")
	shards := fs.Int("shards", 1, "items the bucket is split into (docs/ratelimit.md: choosing N)")
	create := fs.Bool("create-table", false, "create the table first (on-demand billing)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *burst < 0 {
		*burst = *rate
	}
	l, api, err := lf.limiter(ctx, nil)
	if err == nil && *bucket == "" {
		err = errors.New("--bucket is required")
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "autotuner limiter configure: %v\n", err)
		return exitUsage
	}
	if *create {
		if err := ratelimit.CreateTable(ctx, api, *lf.table); err != nil {
			fmt.Fprintf(e.stderr, "autotuner limiter configure: creating table %s: %v\n", *lf.table, err)
			return exitFailure
		}
		w := dynamodb.NewTableExistsWaiter(api)
		if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: lf.table}, 5*time.Minute); err != nil {
			fmt.Fprintf(e.stderr, "autotuner limiter configure: waiting for table %s: %v\n", *lf.table, err)
			return exitFailure
		}
	}
	if err := l.Configure(ctx, *bucket, ratelimit.Limits{Rate: *rate, Burst: *burst, Shards: *shards}); err != nil {
		fmt.Fprintf(e.stderr, "autotuner limiter configure: %v\n", err)
		return exitFailure
	}
	return limiterPrint(ctx, e, l, *bucket)
}

func limiterDescribe(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "limiter describe", "--table T --bucket B")
	lf := addLimiterFlags(fs, e)
	bucket := fs.String("bucket", "", "the bucket")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	l, _, err := lf.limiter(ctx, nil)
	if err != nil {
		fmt.Fprintf(e.stderr, "autotuner limiter describe: %v\n", err)
		return exitUsage
	}
	return limiterPrint(ctx, e, l, *bucket)
}

func limiterPrint(ctx context.Context, e *env, l *ratelimit.Limiter, bucket string) int {
	lim, states, err := l.Describe(ctx, bucket)
	if err != nil {
		fmt.Fprintf(e.stderr, "autotuner limiter: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(e.stdout, "bucket %s: rate %v/s, burst %v, %d shard(s)\n", bucket, lim.Rate, lim.Burst, lim.Shards)
	for i, s := range states {
		fmt.Fprintf(e.stdout, "  shard %d: %.3f tokens, rate %v/s, burst %v, refilled %s, version %d\n",
			i, s.Tokens, s.Rate, s.Burst, time.UnixMilli(s.Last).UTC().Format(time.RFC3339Nano), s.Version)
	}
	return exitOK
}

// checkLimiterAddr keeps the limiter on loopback unless asked: anyone who
// reaches /acquire spends the bucket's tokens, and it has no authentication.
func checkLimiterAddr(addr string, public bool, e *env) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr %q: %v (want HOST:PORT, e.g. 127.0.0.1:8089)", addr, err)
	}
	if isLoopback(host) {
		return nil
	}
	if !public {
		return fmt.Errorf("--addr %s is not a loopback address: /acquire has no authentication, so anyone who reaches it spends the bucket's tokens; put an authenticating proxy in front and pass --addr-public", addr)
	}
	e.logger.Warn("the limiter serves beyond loopback: anyone who can reach this address can take tokens", "addr", addr)
	return nil
}
