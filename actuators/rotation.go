package actuators

import (
	"math"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/internal/awsclient"
)

// DefaultReadTime is how much of each control plane's client rate one
// tick's drift checks may use. Changes and their reads come on top, inside
// the per-tick budget.
const DefaultReadTime = 5 * time.Second

// MaxReadsPerTick caps one tick's drift checks per plane and account
// however fast the plane: AWS asks callers to cache control-plane reads
// (DynamoDB's best practices), and a limit rarely drifts within minutes.
const MaxReadsPerTick = 500

// PlaneOf is the control plane whose quota reading a kind's value spends.
func PlaneOf(k config.Kind) awsclient.Plane {
	switch k {
	case config.LambdaReservedConcurrency:
		return awsclient.PlaneLambdaGet // read through GetFunction
	case config.LambdaSQSMaxConcurrency:
		return awsclient.PlaneLambda
	case config.APIGatewayUsagePlan, config.APIGatewayStage, config.APIGatewayV2Stage:
		return awsclient.PlaneAPIGateway
	case config.DynamoDBProvisioned, config.DynamoDBOnDemandMax:
		return awsclient.PlaneDynamoDB
	case config.StepFunctionsMap:
		return awsclient.PlaneStates
	case config.Parameter:
		// The slower of its two backends paces the rotation.
		return awsclient.PlaneSSM
	}
	return ""
}

// CheckEvery is the controller's drift-check rotation for targets: every
// target's value is read at least every CheckEvery ticks, and the reads
// of one tick take at most readTime of any plane's rate, and at most
// MaxReadsPerTick calls. Targets of one DynamoDB table share a read.
func CheckEvery(targets []*config.Target, rates map[awsclient.Plane]awsclient.Rate, readTime time.Duration) int {
	type scope struct {
		region, role string
		plane        awsclient.Plane
	}
	reads := map[scope]int{}
	tables := map[string]bool{}
	for _, t := range targets {
		p := PlaneOf(t.Kind)
		if p == awsclient.PlaneDynamoDB {
			k := t.Region + "\x00" + t.RoleARN + "\x00" + t.Table
			if tables[k] {
				continue
			}
			tables[k] = true
		}
		reads[scope{t.Region, t.RoleARN, p}]++
	}
	every := 1
	for s, n := range reads {
		r, ok := rates[s.plane]
		if !ok || r.PerSecond <= 0 {
			continue
		}
		per := max(1, min(MaxReadsPerTick, math.Floor(r.PerSecond*readTime.Seconds())))
		every = max(every, int(math.Ceil(float64(n)/per)))
	}
	return every
}
