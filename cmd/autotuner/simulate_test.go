package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/sim"
)

func simEnv(tty bool) (*env, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &env{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), getenv: func(string) string { return "" },
		logger: slog.New(slog.NewTextHandler(io.Discard, nil)), isTerminal: tty}, &out, &errb
}

func keysOf(m map[string]any) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	slices.Sort(k)
	return k
}

// --format json prints exactly one JSON object with the documented keys.
func TestSimulateJSONSchema(t *testing.T) {
	e, out, errb := simEnv(false)
	if code := run(context.Background(), e, []string{"simulate", "--format", "json", "--out", ""}); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb)
	}
	dec := json.NewDecoder(bytes.NewReader(out.Bytes()))
	var top map[string]any
	if err := dec.Decode(&top); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	if dec.More() {
		t.Fatal("more than one JSON value on stdout")
	}
	if diff := cmp.Diff([]string{"duration_s", "results", "scenario", "seed"}, keysOf(top)); diff != "" {
		t.Fatalf("top-level keys (-want +got):\n%s", diff)
	}
	if top["scenario"] != "brownout" || top["seed"] != 1.0 || top["duration_s"] != 10800.0 {
		t.Errorf("header %v %v %v", top["scenario"], top["seed"], top["duration_s"])
	}
	results := top["results"].([]any)
	var policies []string
	for _, r := range results {
		rm := r.(map[string]any)
		if diff := cmp.Diff([]string{"kpis", "layers", "losses", "policy"}, keysOf(rm)); diff != "" {
			t.Fatalf("result keys:\n%s", diff)
		}
		policies = append(policies, rm["policy"].(string))
		k := rm["kpis"].(map[string]any)
		want := []string{"actuations", "cost_usd", "delayed", "lost", "max_queue_age_s", "offered", "overload_s", "p99_queue_age_s", "quota_violations", "reversals", "served", "throttled"}
		if diff := cmp.Diff(want, keysOf(k)); diff != "" {
			t.Fatalf("kpi keys:\n%s", diff)
		}
		for name, v := range k {
			if _, ok := v.(float64); !ok {
				t.Errorf("%s is %T, want a number", name, v)
			}
		}
		if k["quota_violations"] != 0.0 {
			t.Errorf("%s: quota violations %v", rm["policy"], k["quota_violations"])
		}
	}
	if diff := cmp.Diff(strings.Split(defaultCompare, ","), policies); diff != "" {
		t.Errorf("policies:\n%s", diff)
	}
	if strings.Contains(errb.String(), "simulating") {
		t.Error("a progress bar was drawn on a pipe")
	}
}

// The bare command prints the comparison table and writes the report.
func TestSimulateWritesReport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "report")
	e, out, errb := simEnv(true)
	if code := run(context.Background(), e, []string{"simulate", "--out", dir, "--scenario", "flash-crowd", "--compare", "autotuner,target-tracking"}); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb)
	}
	for _, want := range []string{"POLICY", "autotuner", "target-tracking", "report: " + filepath.Join(dir, "report.html")} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errb.String(), "simulating flash-crowd") {
		t.Errorf("no progress bar on a terminal: %q", errb)
	}
	for _, f := range []string{"report.html", "overview.png", "policy-autotuner.png", "policy-target-tracking.png", "timeline.csv", "results.json"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	html, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	if n := strings.Count(string(html), "<svg"); n != 3 {
		t.Errorf("report.html has %d inline SVG charts, want 3 (overview + 2 policies)", n)
	}
	if strings.Contains(string(html), "<img") || strings.Contains(string(html), "<script src") {
		t.Error("report.html is not self-contained")
	}
}

func TestSimulateUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--compare", "autotuner,nope"}, exitUsage, `unknown policy "nope"`},
		{[]string{"--scenario", "no-such"}, exitUsage, "not a built-in scenario"},
		{[]string{"--format", "xml"}, exitUsage, "--format"},
		{[]string{"--scenario", "nasa-diurnal", "--traces", "/nonexistent"}, exitFailure, "--traces"},
		{[]string{"extra"}, exitUsage, "unexpected argument"},
	} {
		e, _, errb := simEnv(false)
		code := run(context.Background(), e, append([]string{"simulate", "--out", ""}, tc.args...))
		if code != tc.code || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", tc.args, code, errb, tc.code, tc.want)
		}
	}
}

// BenchmarkSimulateNoArgs is `autotuner simulate` as a new user runs it,
// report included (goal: under 10 s wall).
func BenchmarkSimulateNoArgs(b *testing.B) {
	dir := b.TempDir()
	for b.Loop() {
		e, _, errb := simEnv(false)
		if code := run(context.Background(), e, []string{"simulate", "--out", dir}); code != exitOK {
			b.Fatalf("exit %d: %s", code, errb)
		}
	}
}

func simLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// --audit writes the chosen policy's decisions as the daemon would, one
// controller.Record per target per tick, explained guard by guard.
func TestSimulateWritesAudit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	e, _, errb := simEnv(false)
	if code := run(context.Background(), e, []string{"simulate", "--out", "", "--scenario", "flash-crowd", "--compare", "autotuner", "--audit", path}); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	targets := map[string]int{}
	changed := 0
	for i, l := range lines {
		var r controller.Record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if r.V != controller.AuditVersion || r.Target == "" {
			t.Fatalf("line %d: %+v", i+1, r)
		}
		if r.Intent {
			continue // the line before a change; its outcome follows
		}
		targets[r.Target]++
		if r.Applied {
			changed++
		}
	}
	// flash-crowd scores 3 h at a 1-minute interval over the topology's 3
	// targets; the warm-up's records are not written.
	if len(targets) != 3 || targets["orders-fn"] != 180 {
		t.Errorf("records per target = %v, want 3 targets with 180 each", targets)
	}
	if changed == 0 {
		t.Error("no applied change in the audit")
	}

	e, _, errb = simEnv(false)
	if code := run(context.Background(), e, []string{"simulate", "--out", "", "--scenario", "steady", "--audit", path, "--audit-policy", "nope"}); code != exitFailure || !strings.Contains(errb.String(), `unknown policy "nope"`) {
		t.Errorf("unknown --audit-policy: exit %d, %s", code, errb)
	}
}

// Every figure of the CSV is in the JSON, with the same value.
func TestSimulateJSONCarriesCSV(t *testing.T) {
	args := []string{"simulate", "--scenario", "brownout", "--compare", "autotuner,target-tracking", "--out", ""}
	e, js, errb := simEnv(false)
	if code := run(context.Background(), e, append(args, "--format", "json")); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb)
	}
	e, cs, errb := simEnv(false)
	if code := run(context.Background(), e, append(args, "--format", "csv")); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb)
	}
	var sum struct {
		Results []map[string]map[string]any `json:"results"`
	}
	// Decode the policy name apart: it is a string, not an object.
	var names struct {
		Results []struct{ Policy string } `json:"results"`
	}
	var raw struct {
		Results []map[string]json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(js.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js.Bytes(), &names); err != nil {
		t.Fatal(err)
	}
	for _, r := range raw.Results {
		m := map[string]map[string]any{}
		for _, sect := range []string{"kpis", "layers", "losses"} {
			var o map[string]any
			if err := json.Unmarshal(r[sect], &o); err != nil {
				t.Fatalf("%s: %v", sect, err)
			}
			m[sect] = o
		}
		sum.Results = append(sum.Results, m)
	}
	// Where each CSV column is in the JSON.
	where := map[string][2]string{
		"throttled_api_gateway": {"layers", "api_gateway"}, "throttled_lambda": {"layers", "lambda"},
		"throttled_dynamodb": {"layers", "dynamodb"}, "downstream_errors": {"layers", "downstream"},
		"lost_throttled": {"losses", "throttled"}, "lost_failed": {"losses", "failed"},
		"lost_dead_letter": {"losses", "dead_letter"}, "lost_expired": {"losses", "expired"},
	}
	rows, err := csv.NewReader(bytes.NewReader(cs.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows)-1 != len(sum.Results) {
		t.Fatalf("%d CSV rows, %d JSON results", len(rows)-1, len(sum.Results))
	}
	for i, row := range rows[1:] {
		if row[0] != names.Results[i].Policy {
			t.Fatalf("row %d: %s vs %s", i, row[0], names.Results[i].Policy)
		}
		for c, col := range rows[0][1:] {
			at, ok := where[col]
			if !ok {
				at = [2]string{"kpis", col}
			}
			v, ok := sum.Results[i][at[0]][at[1]]
			if !ok {
				t.Errorf("CSV column %s is not in the JSON (%s.%s)", col, at[0], at[1])
				continue
			}
			if got := strconv.FormatFloat(v.(float64), 'f', -1, 64); got != row[c+1] {
				t.Errorf("%s %s: CSV %s, JSON %s", row[0], col, row[c+1], got)
			}
		}
	}
}

// Baselines keep the scenario's own setpoints when --policies names
// another file, so two files compare like for like; a flag restores the
// old behaviour, where the baselines follow --policies.
func TestSimulateBaselinesLikeForLike(t *testing.T) {
	orig, err := os.ReadFile("../../sim/policies/api-lambda-dynamodb.yaml")
	if err != nil {
		t.Fatal(err)
	}
	other := strings.ReplaceAll(string(orig), "target: 70%", "target: 40%")
	if other == string(orig) {
		t.Fatal("the built-in file has no 70% setpoint to change")
	}
	path := filepath.Join(t.TempDir(), "other.yaml")
	if err := os.WriteFile(path, []byte(other), 0o644); err != nil {
		t.Fatal(err)
	}
	kpis := func(extra ...string) map[string]string {
		e, out, errb := simEnv(false)
		args := append([]string{"simulate", "--scenario", "flash-crowd", "--compare", "autotuner,target-tracking", "--out", "", "--format", "csv"}, extra...)
		if code := run(context.Background(), e, args); code != exitOK {
			t.Fatalf("%v: exit %d: %s", extra, code, errb)
		}
		rows, err := csv.NewReader(bytes.NewReader(out.Bytes())).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, r := range rows[1:] {
			m[r[0]] = strings.Join(r[1:], ",")
		}
		return m
	}
	base := kpis()
	like := kpis("--policies", path)
	old := kpis("--policies", path, "--baselines-use-policies")
	if like["target-tracking"] != base["target-tracking"] {
		t.Errorf("target tracking moved with --policies:\n%s\n%s", base["target-tracking"], like["target-tracking"])
	}
	if like["autotuner"] == base["autotuner"] {
		t.Error("the autotuner did not run the other file")
	}
	if old["target-tracking"] == base["target-tracking"] {
		t.Error("--baselines-use-policies: target tracking kept the scenario's setpoints")
	}
}

func TestSimulateStepFunctionsFanout(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), testEnv(&out, &errb), []string{"simulate", "--scenario", "stepfunctions-fanout", "--format", "json", "--out", ""})
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var doc struct {
		Results []struct {
			Policy        string `json:"policy"`
			BatchFinishS  int64  `json:"batch_finish_s"`
			ThirdParty429 int64  `json:"third_party_429"`
		}
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	got := map[string]bool{}
	for _, r := range doc.Results {
		got[r.Policy] = r.BatchFinishS > 0
	}
	if !got["static"] || !got["autotuner"] || !got["target-tracking"] || len(doc.Results) != 4 {
		t.Errorf("results = %+v", doc.Results)
	}
}

func TestBakeoffStepFunctionsSection(t *testing.T) {
	secs, err := runSFNBakeoff(context.Background(), tracesDir(""))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	writeSFNSections(&b, secs)
	out := b.String()
	for _, want := range []string{"## Topology (c): Step Functions", "### stepfunctions-fanout", "best static (12)", "| " + sim.GoalBatchSooner + " | ✅ |"} {
		if !strings.Contains(out, want) {
			t.Errorf("the section lacks %q:\n%s", want, out)
		}
	}
	// The scenarios are columns of the goals table, with their own goals.
	names, goals := sfnGlance(secs)
	var g bytes.Buffer
	writeGoalGlance(&g, bakeoffDoc{sfnNames: names, sfnGoals: goals}, nil)
	glance := g.String()
	for _, want := range []string{"| goal | stepfunctions-fanout |", "| " + sim.GoalBatchSooner + " | ✅ 1/1 |", "| " + sim.GoalNoQuotaViolations + " | ✅ 1/1 |"} {
		if !strings.Contains(glance, want) {
			t.Errorf("the goals table lacks %q:\n%s", want, glance)
		}
	}
}
