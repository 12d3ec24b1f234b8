package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/autotuner/autotuner/discover"
	"github.com/autotuner/autotuner/internal/awsclient"
)

func init() {
	register(command{name: "init", summary: "write a dry-run policies file from the limits an account already has", run: runInit})
}

// initSchema is where the policies schema sits from a file at the top of
// a checkout, as in policies.example.yaml. (Not imported from package
// schema, which would link the simulator into every binary.)
const initSchema = "./schema/policies.schema.json"

func runInit(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "init", "[--region R] [--tags k=v,...] [--days 14] > policies.yaml")
	region := fs.String("region", "", "the region to search (default: the SDK's, e.g. AWS_REGION)")
	tagsFlag := fs.String("tags", "", "only resources carrying every one of these tags, k=v,k2=v2")
	days := fs.Int("days", 14, "days of CloudWatch history the bounds are chosen from (1-63)")
	schemaRef := fs.String("schema", initSchema, "the JSON Schema the file's yaml-language-server modeline points editors at (a path from the file, or a URL; \"\" for none)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	tags, err := parseTags(*tagsFlag)
	if err != nil || fs.NArg() != 0 || *days < 1 || *days > 63 {
		if err != nil {
			fmt.Fprintln(e.stderr, "init:", err)
		}
		fs.Usage()
		return exitUsage
	}
	c, err := discoveryClients(ctx, e, *region)
	if err != nil {
		fmt.Fprintln(e.stderr, "init:", err)
		return exitFailure
	}
	out, err := discover.InitFile(ctx, c, tags, *days, time.Now())
	if err != nil {
		fmt.Fprintln(e.stderr, "init:", err)
		return exitFailure
	}
	if *schemaRef != "" {
		// Editors with the YAML language server check the file as it is
		// typed, as they do policies.example.yaml.
		out = append([]byte("# yaml-language-server: $schema="+*schemaRef+"\n"), out...)
	}
	_, _ = e.stdout.Write(out)
	return exitOK
}

func parseTags(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--tags: %q is not key=value", kv)
		}
		out[k] = v
	}
	return out, nil
}

// discoveryClients connects discovery to AWS the way the other commands
// connect (credentials chain, AWS_REGION, AWS_ENDPOINT_URL…).
func discoveryClients(ctx context.Context, e *env, region string) (*discover.Clients, error) {
	fac, err := awsclient.New(ctx, awsclient.Options{Region: region, CloudWatchProtocol: e.getenv(awsclient.ProtocolEnv)})
	if err != nil {
		return nil, err
	}
	cl, err := fac.For(region, "")
	if err != nil {
		return nil, err
	}
	return discover.FromAWS(cl, e.getenv(discover.TaggingProtocolEnv)), nil
}
