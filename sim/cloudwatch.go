package sim

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// metric is one simulated CloudWatch series.
type metric int

const (
	mAPICount metric = iota
	mAPI4xx
	mAPI5xx
	mLInvocations
	mLThrottles
	mLConcurrent
	mLErrors
	mLDuration
	mQAge
	mQVisible
	mQSent
	mQDeleted
	mTConsumedRead
	mTConsumedWrite
	mTReadThrottle
	mTWriteThrottle
	mTThrottledRequests
	mTProvRead
	mTProvWrite
	mDLatency
	mDErrors
	mDRequests
	nMetrics
)

// service is the plant component a metric belongs to.
type service int

const (
	svcAPI service = iota
	svcLambda
	svcQueue
	svcTable
	svcDownstream
)

// DownstreamNamespace is the custom namespace of the downstream
// dependency's metrics; any namespace outside AWS/ is read the same way.
const DownstreamNamespace = "Custom/Downstream"

type metricInfo struct {
	ns, name string
	svc      service
	// sparse metrics emit no datapoint for a period in which they were 0,
	// as CloudWatch does for Throttles and throttle events.
	sparse bool
}

var metrics = [nMetrics]metricInfo{
	mAPICount:           {"AWS/ApiGateway", "Count", svcAPI, true},
	mAPI4xx:             {"AWS/ApiGateway", "4XXError", svcAPI, true},
	mAPI5xx:             {"AWS/ApiGateway", "5XXError", svcAPI, true},
	mLInvocations:       {"AWS/Lambda", "Invocations", svcLambda, true},
	mLThrottles:         {"AWS/Lambda", "Throttles", svcLambda, true},
	mLConcurrent:        {"AWS/Lambda", "ConcurrentExecutions", svcLambda, true},
	mLErrors:            {"AWS/Lambda", "Errors", svcLambda, true},
	mLDuration:          {"AWS/Lambda", "Duration", svcLambda, true},
	mQAge:               {"AWS/SQS", "ApproximateAgeOfOldestMessage", svcQueue, false},
	mQVisible:           {"AWS/SQS", "ApproximateNumberOfMessagesVisible", svcQueue, false},
	mQSent:              {"AWS/SQS", "NumberOfMessagesSent", svcQueue, false},
	mQDeleted:           {"AWS/SQS", "NumberOfMessagesDeleted", svcQueue, false},
	mTConsumedRead:      {"AWS/DynamoDB", "ConsumedReadCapacityUnits", svcTable, false},
	mTConsumedWrite:     {"AWS/DynamoDB", "ConsumedWriteCapacityUnits", svcTable, false},
	mTReadThrottle:      {"AWS/DynamoDB", "ReadThrottleEvents", svcTable, true},
	mTWriteThrottle:     {"AWS/DynamoDB", "WriteThrottleEvents", svcTable, true},
	mTThrottledRequests: {"AWS/DynamoDB", "ThrottledRequests", svcTable, true},
	mTProvRead:          {"AWS/DynamoDB", "ProvisionedReadCapacityUnits", svcTable, false},
	mTProvWrite:         {"AWS/DynamoDB", "ProvisionedWriteCapacityUnits", svcTable, false},
	mDLatency:           {DownstreamNamespace, "Latency", svcDownstream, false},
	mDErrors:            {DownstreamNamespace, "Errors", svcDownstream, true},
	mDRequests:          {DownstreamNamespace, "Requests", svcDownstream, true},
}

// aliases are other real metric names that the model answers with the
// same series.
var aliases = map[string]metric{
	"AWS/DynamoDB ReadProvisionedThroughputThrottleEvents":  mTReadThrottle,
	"AWS/DynamoDB WriteProvisionedThroughputThrottleEvents": mTWriteThrottle,
	"AWS/DynamoDB ReadMaxOnDemandThroughputThrottleEvents":  mTReadThrottle,
	"AWS/DynamoDB WriteMaxOnDemandThroughputThrottleEvents": mTWriteThrottle,
	"AWS/Lambda ClaimedAccountConcurrency":                  mLConcurrent,
	"AWS/SQS ApproximateNumberOfMessages":                   mQVisible,
}

// lookupMetric finds the series for a namespace and metric name.
func lookupMetric(ns, name string) (metric, bool) {
	if !strings.HasPrefix(ns, "AWS/") {
		switch strings.ToLower(name) {
		case "latency", "duration", "responsetime":
			return mDLatency, true
		case "errors", "error", "5xx", "failures":
			return mDErrors, true
		case "requests", "count", "calls":
			return mDRequests, true
		}
		return 0, false
	}
	for m := range metrics {
		if metrics[m].ns == ns && metrics[m].name == name {
			return metric(m), true
		}
	}
	m, ok := aliases[ns+" "+name]
	return m, ok
}

// store holds the per-second values of every series for a recent
// horizon, as a ring. CloudWatch statistics are computed from them when
// the controller reads, once per tick, so the per-second loop only writes.
type store struct {
	vals [nMetrics][]float64
	mask int64
}

func newStore(horizon int64) *store {
	n := int64(1)
	for n < horizon {
		n <<= 1
	}
	s := &store{mask: n - 1}
	for m := range s.vals {
		s.vals[m] = make([]float64, n)
	}
	return s
}

func (s *store) put(m metric, t int64, v float64) { s.vals[m][t&s.mask] = v }

// horizon is how far back the store remembers, in seconds.
func (s *store) horizon() int64 { return s.mask + 1 }

// stats are the CloudWatch statistics of one window.
type stats struct {
	sum, min, max, n float64
}

// window aggregates seconds [from, to).
func (s *store) window(m metric, from, to int64) stats {
	st := stats{min: math.Inf(1), max: math.Inf(-1)}
	v := s.vals[m]
	for t := from; t < to; t++ {
		x := v[t&s.mask]
		st.sum += x
		st.min = min(st.min, x)
		st.max = max(st.max, x)
		st.n++
	}
	return st
}

// percentile is the pNN of seconds [from, to); scratch is reused.
func (s *store) percentile(m metric, from, to int64, p float64, scratch *[]float64) float64 {
	buf := (*scratch)[:0]
	v := s.vals[m]
	for t := from; t < to; t++ {
		buf = append(buf, v[t&s.mask])
	}
	*scratch = buf
	if len(buf) == 0 {
		return math.NaN()
	}
	slices.Sort(buf)
	i := int(math.Ceil(p/100*float64(len(buf)))) - 1
	return buf[max(0, min(i, len(buf)-1))]
}

// statistic names the CloudWatch statistics the simulator computes:
// Sum, Average, Maximum, Minimum, SampleCount and pNN.
func parseStat(s string) (kind string, p float64, ok bool) {
	switch s {
	case "Sum", "Average", "Maximum", "Minimum", "SampleCount":
		return s, 0, true
	}
	if rest, found := strings.CutPrefix(strings.ToLower(s), "p"); found {
		v, err := strconv.ParseFloat(rest, 64)
		if err == nil && v >= 0 && v <= 100 {
			return "p", v, true
		}
	}
	return "", 0, false
}

// mix64 is SplitMix64's finalizer: a cheap, well-mixed hash that makes a
// datapoint's delay and noise a pure function of the seed and its period.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }
