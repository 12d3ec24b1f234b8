package lambdamode_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/daemon/daemontest"
	"github.com/autotuner/autotuner/lambdamode"
	"github.com/autotuner/autotuner/state"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

type rig struct {
	h      *lambdamode.Handler
	clock  *daemontest.Clock
	sensor *daemontest.Sensor
	act    *daemontest.Actuator
	emf    *bytes.Buffer
	builds int
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{clock: daemontest.NewClock(t0), sensor: &daemontest.Sensor{Value: 20}, act: &daemontest.Actuator{Initial: 10}, emf: &bytes.Buffer{}}
	store := state.NewMem()
	loc, err := lambdamode.ParseLocation("policies.yaml", filepath.Join("..", "testdata", "events"))
	if err != nil {
		t.Fatal(err)
	}
	r.h = &lambdamode.Handler{
		Policies: &lambdamode.Policies{Loc: loc},
		Build: func(_ context.Context, f *config.File) (*controller.Controller, error) {
			r.builds++
			return &controller.Controller{Config: f, Sensor: r.sensor, Actuators: daemontest.Actuators(r.act), Store: store, Logger: quiet()}, nil
		},
		Metrics: &lambdamode.EMF{W: r.emf},
		Logger:  quiet(),
		Now:     r.clock.Now,
	}
	return r
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func (r *rig) invoke(t *testing.T, ev []byte) *lambdamode.Response {
	t.Helper()
	resp, err := r.h.Invoke(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func byTarget(resp *lambdamode.Response) map[string]lambdamode.Decision {
	m := map[string]lambdamode.Decision{}
	for _, d := range resp.Decisions {
		m[d.Target] = d
	}
	return m
}

func TestScheduleEvaluatesEveryTarget(t *testing.T) {
	r := newRig(t)
	resp := r.invoke(t, fixture(t, "scheduled.json"))
	if resp.Event != lambdamode.KindSchedule || resp.Evaluated != 2 || resp.Applied != 2 {
		t.Fatalf("summary %+v, want both targets evaluated and raised", resp)
	}
	d := byTarget(resp)["orders-consumer"]
	if d.Action != "up" || d.Current != 10 || d.Final != 20 || !d.Applied || d.Explain == "" {
		t.Errorf("orders-consumer decision %+v", d)
	}
	// The response is the JSON the caller sees.
	b, err := json.Marshal(resp)
	if err != nil || !strings.Contains(string(b), `"event":"schedule"`) {
		t.Errorf("response JSON %s, %v", b, err)
	}
}

func TestAlarmEvaluatesOnlyLinkedTargetsAndBypassesCooldown(t *testing.T) {
	r := newRig(t)
	r.invoke(t, fixture(t, "scheduled.json")) // 10 → 20; the 10m up cooldown starts
	r.sensor.SetValue(40)
	r.clock.Advance(time.Minute)
	resp := r.invoke(t, fixture(t, "scheduled.json"))
	if d := byTarget(resp)["orders-consumer"]; d.Applied || d.Final != 20 {
		t.Fatalf("a scheduled tick inside the cooldown changed the limit: %+v", d)
	}
	for _, ev := range []string{"alarm-eventbridge.json", "alarm-sns.json"} {
		r.clock.Advance(time.Minute)
		before := r.act.Value("orders-consumer")
		resp = r.invoke(t, fixture(t, ev))
		if resp.Evaluated != 1 || resp.Decisions[0].Target != "orders-consumer" {
			t.Fatalf("%s: evaluated %+v, want only the linked target", ev, resp.Decisions)
		}
		d := resp.Decisions[0]
		if !d.Alarm || !d.Applied || d.Final <= before {
			t.Errorf("%s: decision %+v; an ALARM must bypass the up cooldown of a target that allows it", ev, d)
		}
	}
	// Back to OK: evaluated at once, but without the alarm's privileges.
	r.clock.Advance(time.Minute)
	resp = r.invoke(t, fixture(t, "alarm-eventbridge-ok.json"))
	if d := resp.Decisions[0]; d.Alarm || d.Applied {
		t.Errorf("OK state: decision %+v, want evaluated under the cooldown", d)
	}
}

func TestUnlinkedAlarmRunsNoTick(t *testing.T) {
	r := newRig(t)
	resp := r.invoke(t, fixture(t, "alarm-unlinked.json"))
	if resp.Evaluated != 0 || !strings.Contains(resp.Note, "billing-alarm") || r.sensor.Reads != 0 {
		t.Errorf("summary %+v with %d sensor reads; want no tick and a note", resp, r.sensor.Reads)
	}
}

func TestDirectDryRunAppliesNothing(t *testing.T) {
	r := newRig(t)
	resp := r.invoke(t, fixture(t, "direct.json"))
	if resp.Evaluated != 1 || resp.Applied != 0 || resp.Decisions[0].Mode != "dry-run" || resp.Decisions[0].Final != 20 {
		t.Errorf("dry run summary %+v", resp)
	}
	if len(r.act.Changes()) != 0 {
		t.Errorf("dry run applied %+v", r.act.Changes())
	}
	_, err := r.h.Invoke(context.Background(), []byte(`{"targets": ["nope"]}`))
	var ee *lambdamode.EventError
	if !errors.As(err, &ee) || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown target: err %v", err)
	}
}

func TestBadEventsRunNoTick(t *testing.T) {
	r := newRig(t)
	for _, name := range []string{"malformed.json", "unknown.json"} {
		resp, err := r.h.Invoke(context.Background(), fixture(t, name))
		if err == nil || resp != nil {
			t.Errorf("%s: got %+v, %v; want an error", name, resp, err)
		}
	}
	if r.sensor.Reads != 0 || r.builds != 0 {
		t.Errorf("bad events caused %d reads and %d builds", r.sensor.Reads, r.builds)
	}
}

func TestHandlerNeverPanics(t *testing.T) {
	r := newRig(t)
	r.h.Build = func(context.Context, *config.File) (*controller.Controller, error) { panic("wiring bug") }
	resp, err := r.h.Invoke(context.Background(), fixture(t, "scheduled.json"))
	if err == nil || resp != nil || !strings.Contains(err.Error(), "internal error") {
		t.Errorf("got %+v, %v; want an internal error", resp, err)
	}
}

func TestEMFLines(t *testing.T) {
	r := newRig(t)
	r.invoke(t, fixture(t, "scheduled.json"))
	sc := bufio.NewScanner(r.emf)
	lines := 0
	seen := map[string]bool{}
	for sc.Scan() {
		lines++
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v", lines, err)
		}
		aws, ok := m["_aws"].(map[string]any)
		if !ok || aws["Timestamp"].(float64) != float64(t0.UnixMilli()) {
			t.Fatalf("line %d lacks the _aws metadata: %s", lines, sc.Text())
		}
		d := aws["CloudWatchMetrics"].([]any)[0].(map[string]any)
		if d["Namespace"] != "Autotuner" {
			t.Errorf("namespace %v", d["Namespace"])
		}
		// Every declared metric and dimension must be a member of the line.
		for _, dims := range d["Dimensions"].([]any) {
			for _, dim := range dims.([]any) {
				if _, ok := m[dim.(string)]; !ok {
					t.Errorf("line %d declares dimension %v but lacks it", lines, dim)
				}
			}
		}
		for _, mt := range d["Metrics"].([]any) {
			name := mt.(map[string]any)["Name"].(string)
			if _, ok := m[name]; !ok {
				t.Errorf("line %d declares metric %s but lacks it", lines, name)
			}
			seen[name] = true
		}
	}
	// 1 summary + 2 targets + 2 signals (busy) + 1 (throttles, missing→zero).
	if lines != 6 {
		t.Errorf("%d EMF lines, want 6", lines)
	}
	for _, m := range []string{"Ticks", "TickDuration", "Applied", "Errors", "Limit", "SignalValue"} {
		if !seen[m] {
			t.Errorf("metric %s never written", m)
		}
	}
}
