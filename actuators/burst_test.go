package actuators

import (
	"testing"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/internal/awsclient"
	"github.com/autotuner/autotuner/internal/awsfake"
)

func TestNextBurstNeverLowersTheBurstOnAnIncrease(t *testing.T) {
	tg := &config.Target{Name: "p", Kind: config.APIGatewayUsagePlan, UsagePlan: "p", Limit: "rate", BurstRatio: 2}
	for _, tc := range []struct {
		name     string
		inForce  int64 // 0: not known
		from, to float64
		want     int64
	}{
		{"increase below the burst in force keeps it", 333, 100, 150, 333},
		{"increase past it follows the ratio", 333, 100, 200, 400},
		{"decrease follows the ratio", 333, 100, 50, 100},
		{"unknown burst follows the ratio", 0, 100, 150, 300},
		{"the account's burst caps it", 0, 100, 4000, AccountBurst},
	} {
		var m burstMemo
		if tc.inForce > 0 {
			m.note(tg, tc.inForce)
		}
		got, tied := m.nextBurst(tg, tc.from, tc.to)
		if !tied || got != tc.want {
			t.Errorf("%s: %v → %v with %d in force: burst %d (tied %v), want %d", tc.name, tc.from, tc.to, tc.inForce, got, tied, tc.want)
		}
	}
	var m burstMemo
	if _, tied := m.nextBurst(&config.Target{Limit: "rate", BurstRatio: 0}, 1, 2); tied {
		t.Error("burst_ratio 0 leaves the burst alone, but a burst was set")
	}
}

// Over the wire: a stage's */* throttling at 500/1500 raised to 600 keeps
// 1500, and RestoreBurst sets both values back.
func TestStageIncreaseKeepsTheBurstAndRestoreSetsBoth(t *testing.T) {
	fake, conn := connect(t, awsclient.Options{})
	fake.APIGateway.AddStage("r1", "prod", awsfake.Stage{MethodSettings: map[string]awsfake.Throttle{"*/*": {Rate: 500, Burst: 1500}}})
	s := &Stage{Conn: conn}
	tg := &config.Target{Name: "all", Kind: config.APIGatewayStage, RestAPI: "r1", Stage: "prod", Method: "/*/*", Limit: "rate", BurstRatio: 2, Min: 1, Max: 5000}
	st, err := s.Current(ctx, tg, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !st.HaveBurst || st.Burst != 1500 {
		t.Fatalf("state %+v: want the burst in force, 1500", st)
	}
	if err := s.Apply(ctx, tg, 500, 600, t0); err != nil {
		t.Fatal(err)
	}
	diff(t, "raised", awsfake.Throttle{Rate: 600, Burst: 1500}, fake.APIGateway.Stage("r1", "prod").MethodSettings["*/*"])
	if err := s.RestoreBurst(ctx, tg, 500, 1500, t0); err != nil {
		t.Fatal(err)
	}
	diff(t, "restored", awsfake.Throttle{Rate: 500, Burst: 1500}, fake.APIGateway.Stage("r1", "prod").MethodSettings["*/*"])
}
