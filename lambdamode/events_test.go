package lambdamode_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/autotuner/autotuner/lambdamode"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseFixtures(t *testing.T) {
	alarm := []lambdamode.AlarmChange{{Name: "orders-consumer-throttling", State: "ALARM"}}
	for _, tc := range []struct {
		file string
		want *lambdamode.Request
	}{
		{"scheduled.json", &lambdamode.Request{Kind: lambdamode.KindSchedule}},
		{"alarm-eventbridge.json", &lambdamode.Request{Kind: lambdamode.KindAlarm, Alarms: alarm}},
		{"alarm-eventbridge-ok.json", &lambdamode.Request{Kind: lambdamode.KindAlarm, Alarms: []lambdamode.AlarmChange{{Name: "orders-consumer-throttling", State: "OK"}}}},
		{"alarm-sns.json", &lambdamode.Request{Kind: lambdamode.KindAlarm, Alarms: alarm}},
		{"direct.json", &lambdamode.Request{Kind: lambdamode.KindDirect, Only: []string{"orders-consumer"}, DryRun: true}},
		{"direct-all.json", &lambdamode.Request{Kind: lambdamode.KindDirect}},
	} {
		got, err := lambdamode.Parse(fixture(t, tc.file))
		if err != nil {
			t.Errorf("%s: %v", tc.file, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.file, diff)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for name, ev := range map[string]string{
		"malformed fixture":  string(fixture(t, "malformed.json")),
		"unknown fixture":    string(fixture(t, "unknown.json")),
		"empty":              "",
		"null":               "null",
		"array":              "[]",
		"string":             `"tick"`,
		"empty object":       "{}",
		"no targets":         `{"targets": []}`,
		"star and names":     `{"targets": ["*", "a"]}`,
		"unknown direct key": `{"targets": ["a"], "dryrun": true}`,
		"targets not a list": `{"targets": "a"}`,
		"alarm no name":      `{"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change", "detail": {"state": {"value": "ALARM"}}}`,
		"alarm bad state":    `{"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change", "detail": {"alarmName": "x", "state": {"value": "RED"}}}`,
		"alarm no detail":    `{"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change"}`,
		"schedule wrong src": `{"source": "my.app", "detail-type": "Scheduled Event"}`,
		"sns not alarm":      `{"Records": [{"EventSource": "aws:sns", "Sns": {"Message": "hello"}}]}`,
		"sqs records":        `{"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}`,
		"no records":         `{"Records": []}`,
	} {
		req, err := lambdamode.Parse([]byte(ev))
		var ee *lambdamode.EventError
		if !errors.As(err, &ee) || req != nil {
			t.Errorf("%s: got %+v, %v; want an EventError", name, req, err)
		}
	}
}

// FuzzParse: whatever arrives, Parse never panics, and it accepts only
// requests of a known kind.
func FuzzParse(f *testing.F) {
	for _, n := range []string{"scheduled.json", "alarm-eventbridge.json", "alarm-sns.json", "direct.json", "malformed.json", "unknown.json"} {
		f.Add(fixture(f, n))
	}
	f.Add([]byte(`{"targets": ["*"], "plan": true}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := lambdamode.Parse(b)
		if err != nil {
			return
		}
		switch req.Kind {
		case lambdamode.KindSchedule:
		case lambdamode.KindAlarm:
			if len(req.Alarms) == 0 {
				t.Fatal("an alarm request with no alarm")
			}
		case lambdamode.KindDirect:
		default:
			t.Fatalf("unknown kind %q", req.Kind)
		}
	})
}
