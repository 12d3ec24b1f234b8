package lambdamode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/autotuner/autotuner/config"
)

// Kind is what started an invocation.
type Kind string

const (
	KindSchedule Kind = "schedule" // EventBridge "Scheduled Event": every target
	KindAlarm    Kind = "alarm"    // a CloudWatch alarm changed state
	KindDirect   Kind = "direct"   // {"targets": [...], "dry_run": ...}
)

// Request is a classified event: what to evaluate, and how.
type Request struct {
	Kind Kind
	// Only lists the targets to evaluate; nil means every target.
	Only []string
	// Alarms are the alarm state changes of an alarm event.
	Alarms []AlarmChange
	DryRun bool
	Plan   bool
}

// AlarmChange is one alarm's new state.
type AlarmChange struct {
	Name  string `json:"name"`
	State string `json:"state"` // ALARM, OK, INSUFFICIENT_DATA
}

// EventError is an event that autotuner does not handle or cannot read.
// No tick runs for it.
type EventError struct{ Msg string }

func (e *EventError) Error() string { return e.Msg }

func eventErr(format string, args ...any) error {
	return &EventError{Msg: fmt.Sprintf(format, args...)}
}

// maxEvent bounds what is parsed; Lambda's own limit is 256 KB for async
// invocations and 6 MB for synchronous ones.
const maxEvent = 1 << 20

// Parse classifies an event. It recognizes, by their shape:
//   - an EventBridge event (has "detail-type"): "Scheduled Event" from
//     aws.events, or "CloudWatch Alarm State Change" from aws.cloudwatch;
//   - an SNS delivery (has "Records") whose messages are CloudWatch alarm
//     notifications;
//   - a direct invoke: exactly {"targets": [...]} with optional "dry_run"
//     and "plan"; ["*"] means every target.
//
// Anything else is an EventError.
func Parse(raw []byte) (*Request, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > maxEvent {
		return nil, eventErr("event is %d bytes; the limit is %d", len(raw), maxEvent)
	}
	if len(raw) == 0 || raw[0] != '{' {
		return nil, eventErr("event must be a JSON object, got %s", preview(raw))
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return nil, eventErr("event is not valid JSON: %v", err)
	}
	switch {
	case keys["detail-type"] != nil:
		return parseEventBridge(raw)
	case keys["Records"] != nil:
		return parseSNS(raw)
	case keys["targets"] != nil:
		return parseDirect(raw)
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	return nil, eventErr(`unrecognized event with keys [%s]: expected an EventBridge schedule or alarm event, an SNS alarm notification, or a direct invoke {"targets": [...], "dry_run": true}`, strings.Join(names, ", "))
}

func preview(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	if len(b) > 40 {
		return fmt.Sprintf("%q…", b[:40])
	}
	return fmt.Sprintf("%q", b)
}

type eventBridge struct {
	Source     string          `json:"source"`
	DetailType string          `json:"detail-type"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

type alarmDetail struct {
	AlarmName string `json:"alarmName"`
	State     struct {
		Value string `json:"value"`
	} `json:"state"`
}

func parseEventBridge(raw []byte) (*Request, error) {
	var ev eventBridge
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, eventErr("malformed EventBridge event: %v", err)
	}
	switch {
	case ev.Source == "aws.events" && ev.DetailType == "Scheduled Event":
		return &Request{Kind: KindSchedule}, nil
	case ev.Source == "aws.cloudwatch" && ev.DetailType == "CloudWatch Alarm State Change":
		var d alarmDetail
		if len(ev.Detail) == 0 {
			return nil, eventErr("CloudWatch alarm event has no detail")
		}
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			return nil, eventErr("malformed CloudWatch alarm event detail: %v", err)
		}
		name := d.AlarmName
		if name == "" && len(ev.Resources) > 0 {
			name = alarmNameFromARN(ev.Resources[0])
		}
		if name == "" {
			return nil, eventErr("CloudWatch alarm event names no alarm (detail.alarmName is empty)")
		}
		if err := checkState(d.State.Value); err != nil {
			return nil, err
		}
		return &Request{Kind: KindAlarm, Alarms: []AlarmChange{{Name: name, State: d.State.Value}}}, nil
	}
	return nil, eventErr("unsupported EventBridge event: source %q, detail-type %q (autotuner handles aws.events \"Scheduled Event\" and aws.cloudwatch \"CloudWatch Alarm State Change\")", ev.Source, ev.DetailType)
}

func checkState(s string) error {
	switch s {
	case "ALARM", "OK", "INSUFFICIENT_DATA":
		return nil
	}
	return eventErr("alarm state %q is not ALARM, OK or INSUFFICIENT_DATA", s)
}

// alarmNameFromARN takes the name from arn:aws:cloudwatch:…:alarm:NAME.
func alarmNameFromARN(arn string) string {
	if i := strings.Index(arn, ":alarm:"); i >= 0 {
		return arn[i+len(":alarm:"):]
	}
	return ""
}

type snsEvent struct {
	Records []struct {
		EventSource string `json:"EventSource"`
		SNS         struct {
			Message string `json:"Message"`
		} `json:"Sns"`
	} `json:"Records"`
}

type snsAlarm struct {
	AlarmName     string `json:"AlarmName"`
	AlarmArn      string `json:"AlarmArn"`
	NewStateValue string `json:"NewStateValue"`
}

func parseSNS(raw []byte) (*Request, error) {
	var ev snsEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, eventErr("malformed SNS event: %v", err)
	}
	if len(ev.Records) == 0 {
		return nil, eventErr("SNS event has no records")
	}
	req := &Request{Kind: KindAlarm}
	for i, r := range ev.Records {
		if r.EventSource != "aws:sns" {
			return nil, eventErr("Records[%d]: event source %q is not aws:sns (autotuner handles SNS-wrapped CloudWatch alarms only)", i, r.EventSource)
		}
		var a snsAlarm
		if err := json.Unmarshal([]byte(r.SNS.Message), &a); err != nil {
			return nil, eventErr("Records[%d]: the SNS message is not a CloudWatch alarm notification: %v", i, err)
		}
		name := a.AlarmName
		if name == "" {
			name = alarmNameFromARN(a.AlarmArn)
		}
		if name == "" {
			return nil, eventErr("Records[%d]: the SNS message is not a CloudWatch alarm notification (no AlarmName)", i)
		}
		if err := checkState(a.NewStateValue); err != nil {
			return nil, eventErr("Records[%d]: %s", i, err.Error())
		}
		req.Alarms = append(req.Alarms, AlarmChange{Name: name, State: a.NewStateValue})
	}
	return req, nil
}

type direct struct {
	Targets []string `json:"targets"`
	DryRun  bool     `json:"dry_run"`
	Plan    bool     `json:"plan"`
}

func parseDirect(raw []byte) (*Request, error) {
	var d direct
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, eventErr(`malformed direct invoke (want {"targets": [...], "dry_run": bool, "plan": bool}): %v`, err)
	}
	if dec.More() {
		return nil, eventErr("trailing data after the direct invoke")
	}
	if len(d.Targets) == 0 {
		return nil, eventErr(`direct invoke names no targets; use ["*"] for every target`)
	}
	req := &Request{Kind: KindDirect, DryRun: d.DryRun, Plan: d.Plan}
	if slices.Contains(d.Targets, "*") {
		if len(d.Targets) > 1 {
			return nil, eventErr(`direct invoke: "*" means every target and cannot be combined with names`)
		}
		return req, nil
	}
	for _, t := range d.Targets {
		if t == "" {
			return nil, eventErr("direct invoke: empty target name")
		}
	}
	req.Only = d.Targets
	return req, nil
}

// Resolve narrows an alarm request to the targets whose alarms list names
// one of its alarms; a target is marked as alarmed when one of its alarms
// entered ALARM. It returns false when no target is linked, and then no
// tick must run. Other requests are checked against the file: every named
// target must exist.
func (r *Request) Resolve(f *config.File) (alarmed map[string]bool, ok bool, err error) {
	switch r.Kind {
	case KindAlarm:
		alarmed = map[string]bool{}
		r.Only = nil
		for _, t := range f.Targets {
			for _, a := range r.Alarms {
				if slices.Contains(t.Alarms, a.Name) {
					if !slices.Contains(r.Only, t.Name) {
						r.Only = append(r.Only, t.Name)
					}
					if a.State == "ALARM" {
						alarmed[t.Name] = true
					}
				}
			}
		}
		return alarmed, len(r.Only) > 0, nil
	case KindDirect:
		for _, n := range r.Only {
			if f.Target(n) == nil {
				return nil, false, eventErr("direct invoke: no target named %q in %s", n, f.Path)
			}
		}
	}
	return nil, true, nil
}
