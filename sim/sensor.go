package sim

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/policy"
)

// Sensor reads the simulated CloudWatch as the controller's AWS sensor
// reads the real one: each signal's window ends at now − delay, aligned to
// its period; a period is visible only once its reporting delay has
// passed; sparse metrics have no datapoint for a period in which they were
// 0; and each signal's missing-data rule is applied.
type Sensor struct {
	p     *plant
	start time.Time
	seed  uint64
	cw    CloudWatch
	notes *notes

	resolved map[*config.Signal]resolvedSignal
	pairs    []weighted
}

var _ controller.Sensor = (*Sensor)(nil)

type resolvedSignal struct {
	ok       bool
	m        metric
	stat     string
	pct      float64
	realtime bool // GetQueueAttributes: the queue as it is now
}

func (s *Sensor) Read(_ context.Context, targets []*config.Target, now time.Time) (map[string]policy.Signals, error) {
	out := make(map[string]policy.Signals, len(targets))
	nowS := int64(now.Sub(s.start) / time.Second)
	for _, t := range targets {
		sig := make(policy.Signals, len(t.SignalList))
		for _, q := range t.SignalList {
			start, _ := q.Window(now)
			sig[q.Name] = q.Apply(s.read(t, q, now, nowS), start)
		}
		out[t.Name] = sig
	}
	return out, nil
}

// read returns one raw reading, or the zero (missing) Signal.
func (s *Sensor) read(t *config.Target, q *config.Signal, now time.Time, nowS int64) policy.Signal {
	r := s.resolve(t, q)
	if !r.ok {
		return policy.Signal{}
	}
	if r.realtime {
		return policy.Reading(math.Floor(s.p.visibleNow()), now.Truncate(time.Minute)) // as the real SQS fast path stamps it
	}
	// Like the CloudWatch sensor: a sparse counter read as zero when
	// empty looks only at the newest complete period; any other signal
	// takes the newest datapoint published within lookback periods, so a
	// period reported late is seen a tick later, stamped with its own
	// period, instead of reading as missing.
	start, end := q.Window(now)
	lookback := 1
	if q.Missing != config.MissingZero {
		lookback = sensorLookback
	}
	for k := range lookback {
		shift := time.Duration(k) * (end.Sub(start))
		if v, ok := s.readWindow(r, q, start.Add(-shift), end.Add(-shift), nowS); ok {
			return policy.Reading(v, start.Add(-shift))
		}
	}
	return policy.Signal{}
}

// sensorLookback matches the CloudWatch sensor's default lookback.
const sensorLookback = 3

// readWindow is one period's statistic, if CloudWatch has published it.
func (s *Sensor) readWindow(r resolvedSignal, q *config.Signal, start, end time.Time, nowS int64) (float64, bool) {
	from := int64(start.Sub(s.start) / time.Second)
	to := int64(end.Sub(s.start) / time.Second)
	if from < 0 || to <= from || to > nowS || nowS-from > s.p.cw.horizon() {
		return 0, false // before the simulation began, or forgotten
	}
	lastMin := (to - 1) / 60
	if nowS < to+s.delay(lastMin, metrics[r.m].svc) {
		return 0, false
	}
	v, ok := s.statistic(r, from, to)
	if !ok {
		return 0, false
	}
	if s.cw.Noise > 0 {
		v *= math.Max(0, 1+s.cw.Noise*s.gauss(lastMin, r.m))
	}
	if q.PerSecond {
		v /= float64(to - from)
	}
	return v, true
}

// delay is when a minute of one service's metrics is published: all of a
// service's metrics for a minute arrive together, as CloudWatch publishes
// them, so a sparse counter's empty period and its companions' datapoints
// appear at the same moment.
func (s *Sensor) delay(minute int64, svc service) int64 {
	lo, hi := s.cw.DelayMin.D().Seconds(), s.cw.DelayMax.D().Seconds()
	u := unit(mix64(s.seed ^ uint64(minute)*0x9e3779b97f4a7c15 ^ uint64(svc)<<56))
	d := int64(lo + (hi-lo)*u*u*u)
	if l := s.cw.Late; l != nil && unit(mix64(s.seed^0x6c617465^uint64(minute)*0xbf58476d1ce4e5b9^uint64(svc)<<52)) < l.Share {
		d += l.By.Seconds()
	}
	if svc == svcQueue {
		d = max(d, s.p.wakeDelay(minute, s.seed))
	}
	return d
}

// skipMinute reports a minute of metric m that CloudWatch has no
// datapoint for: dropped at random, inside an outage, or an idle SQS
// queue's.
func (s *Sensor) skipMinute(m metric, minute int64) bool {
	cw := &s.cw
	for _, o := range cw.Outages {
		if at := o.At.Seconds() / 60; minute >= at && minute < at+(o.For.Seconds()+59)/60 {
			return true
		}
	}
	if cw.Drop > 0 && unit(mix64(s.seed^0x64726f70^uint64(minute)*0x94d049bb133111eb^uint64(m)<<50)) < cw.Drop {
		return true
	}
	return metrics[m].svc == svcQueue && s.p.queueAsleep(minute)
}

// gauss is a standard normal deviate fixed by the seed, minute and metric.
func (s *Sensor) gauss(minute int64, m metric) float64 {
	h := mix64(s.seed ^ 0x6e6f697365 ^ uint64(minute)*0xbf58476d1ce4e5b9 ^ uint64(m)<<48)
	u1 := math.Max(unit(h), 1e-12)
	u2 := unit(mix64(h))
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

func (s *Sensor) resolve(t *config.Target, q *config.Signal) resolvedSignal {
	if r, ok := s.resolved[q]; ok {
		return r
	}
	r := s.resolve_(t, q)
	s.resolved[q] = r
	return r
}

func (s *Sensor) resolve_(t *config.Target, q *config.Signal) resolvedSignal {
	where := fmt.Sprintf("target %s signal %s", t.Name, q.Name)
	if q.Source == config.SourceTarget {
		return resolvedSignal{} // the controller fills it in
	}
	if q.Source == config.SourceSQS {
		if s.p.q == nil {
			s.notes.add("%s: the scenario has no SQS queue; it reads as missing", where)
			return resolvedSignal{}
		}
		if q.Attribute != "ApproximateNumberOfMessages" {
			s.notes.add("%s: SQS attribute %s is not modelled; it reads as missing", where, q.Attribute)
			return resolvedSignal{}
		}
		return resolvedSignal{ok: true, realtime: true}
	}
	if q.Expression != "" {
		s.notes.add("%s: metric math is not simulated; it reads as missing", where)
		return resolvedSignal{}
	}
	m, ok := lookupMetric(q.Namespace, q.Metric)
	if !ok {
		s.notes.add("%s: %s %s is not simulated; it reads as missing", where, q.Namespace, q.Metric)
		return resolvedSignal{}
	}
	if !s.p.has(metrics[m].svc) {
		s.notes.add("%s: the scenario has no %s for %s %s; it reads as missing", where, serviceNames[metrics[m].svc], q.Namespace, q.Metric)
		return resolvedSignal{}
	}
	stat, pct, ok := parseStat(q.Stat)
	if !ok {
		s.notes.add("%s: statistic %q is not simulated (Sum, Average, Maximum, Minimum, SampleCount, pNN); it reads as missing", where, q.Stat)
		return resolvedSignal{}
	}
	s.p.checkDimensions(s.notes, metrics[m].svc, q.Dimensions)
	return resolvedSignal{ok: true, m: m, stat: stat, pct: pct}
}

var serviceNames = map[service]string{svcAPI: "API Gateway", svcLambda: "Lambda function", svcQueue: "SQS queue", svcTable: "DynamoDB table", svcDownstream: "downstream dependency"}

// has reports whether the plant contains a service.
func (p *plant) has(s service) bool {
	switch s {
	case svcAPI:
		return p.api != nil
	case svcQueue:
		return p.q != nil
	case svcTable:
		return p.table != nil
	case svcDownstream:
		return p.down != nil
	}
	return true
}

// checkDimensions notes, once, a resource name in a signal that differs
// from the scenario's: the topology has one component of each service, so
// the signal is read from that component whatever it is called.
func (p *plant) checkDimensions(n *notes, s service, dims map[string]string) {
	tp := &p.sc.Topology
	var key, name string
	switch s {
	case svcAPI:
		key, name = "ApiName", tp.API.Name
	case svcLambda:
		key, name = "FunctionName", tp.Lambda.Name
	case svcQueue:
		key, name = "QueueName", tp.Queue.Name
	case svcTable:
		key, name = "TableName", tp.Table.Name
	default:
		return
	}
	if v, ok := dims[key]; ok && v != name {
		n.add("%s %q is simulated by the scenario's %s %q", key, v, serviceNames[s], name)
	}
}

// visibleNow is the number of visible messages right now.
func (p *plant) visibleNow() float64 {
	if p.q == nil {
		return 0
	}
	return p.q.visible
}

// queueAsleep reports a minute in which the queue had been inactive for
// 6 hours or more: SQS publishes nothing for it.
func (p *plant) queueAsleep(minute int64) bool {
	if p.q == nil {
		return false
	}
	return p.cw.vals[mQQuiet][(minute*60+59)&p.cw.mask] >= sqsIdleSeconds+60
}

// wakeDelay is how long after a minute ends its SQS metrics appear when
// the queue woke from 6 hours' inactivity less than 15 minutes earlier:
// up to 15 minutes after the wake, fixed by the seed.
func (p *plant) wakeDelay(minute int64, seed uint64) int64 {
	if p.q == nil {
		return 0
	}
	end := minute*60 + 59
	since := int64(p.cw.vals[mQWoke][end&p.cw.mask])
	if since < 0 || since >= sqsWakeLateSecond {
		return 0
	}
	wake := end - since
	u := unit(mix64(seed ^ 0x77616b65 ^ uint64(wake)*0x9e3779b97f4a7c15))
	return max(0, wake+int64(u*sqsWakeLateSecond)-(end+1))
}

// notes collects messages that should be said once per run.
type notes struct {
	seen map[string]bool
	list []string
}

func (n *notes) add(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if n.seen == nil {
		n.seen = map[string]bool{}
	}
	if !n.seen[s] {
		n.seen[s] = true
		n.list = append(n.list, s)
	}
}
