package sim

import (
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
	mTRequests
	mQQuiet
	mQWoke
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
	// every is the metric's own period in seconds when it is coarser
	// than the simulation's second: DynamoDB's Provisioned* metrics are
	// published every 5 minutes.
	every int64
	// samples, when set, is the series that counts the samples a
	// second's value sums: Duration is per invocation, DynamoDB's
	// Consumed* per request, API Gateway's errors per request. Average,
	// Minimum, Maximum, pNN and SampleCount are then over those samples,
	// as CloudWatch computes them.
	samples metric
	shape   sampleShape
}

// sampleShape says what one sample of a per-sample metric is.
type sampleShape int

const (
	perSecond  sampleShape = iota // the per-second value is the sample
	perRequest                    // the value ÷ the samples, the same for each sample in a second
	errorFlag                     // each sample is 0 or 1: Average is the error rate
	durationMs                    // the function's duration classes, shifted by the second's mean
)

// DynamoDB publishes ProvisionedReadCapacityUnits and
// ProvisionedWriteCapacityUnits every 5 minutes
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html).
const provisionedEvery = 300

var metrics = [nMetrics]metricInfo{
	mAPICount:           {ns: "AWS/ApiGateway", name: "Count", svc: svcAPI, sparse: true, samples: mAPICount, shape: errorFlag},
	mAPI4xx:             {ns: "AWS/ApiGateway", name: "4XXError", svc: svcAPI, sparse: true, samples: mAPICount, shape: errorFlag},
	mAPI5xx:             {ns: "AWS/ApiGateway", name: "5XXError", svc: svcAPI, sparse: true, samples: mAPICount, shape: errorFlag},
	mLInvocations:       {ns: "AWS/Lambda", name: "Invocations", svc: svcLambda, sparse: true},
	mLThrottles:         {ns: "AWS/Lambda", name: "Throttles", svc: svcLambda, sparse: true},
	mLConcurrent:        {ns: "AWS/Lambda", name: "ConcurrentExecutions", svc: svcLambda, sparse: true},
	mLErrors:            {ns: "AWS/Lambda", name: "Errors", svc: svcLambda, sparse: true},
	mLDuration:          {ns: "AWS/Lambda", name: "Duration", svc: svcLambda, sparse: true, samples: mLInvocations, shape: durationMs},
	mQAge:               {ns: "AWS/SQS", name: "ApproximateAgeOfOldestMessage", svc: svcQueue},
	mQVisible:           {ns: "AWS/SQS", name: "ApproximateNumberOfMessagesVisible", svc: svcQueue},
	mQSent:              {ns: "AWS/SQS", name: "NumberOfMessagesSent", svc: svcQueue},
	mQDeleted:           {ns: "AWS/SQS", name: "NumberOfMessagesDeleted", svc: svcQueue},
	mTConsumedRead:      {ns: "AWS/DynamoDB", name: "ConsumedReadCapacityUnits", svc: svcTable, samples: mTRequests, shape: perRequest},
	mTConsumedWrite:     {ns: "AWS/DynamoDB", name: "ConsumedWriteCapacityUnits", svc: svcTable, samples: mTRequests, shape: perRequest},
	mTReadThrottle:      {ns: "AWS/DynamoDB", name: "ReadThrottleEvents", svc: svcTable, sparse: true},
	mTWriteThrottle:     {ns: "AWS/DynamoDB", name: "WriteThrottleEvents", svc: svcTable, sparse: true},
	mTThrottledRequests: {ns: "AWS/DynamoDB", name: "ThrottledRequests", svc: svcTable, sparse: true},
	mTProvRead:          {ns: "AWS/DynamoDB", name: "ProvisionedReadCapacityUnits", svc: svcTable, every: provisionedEvery},
	mTProvWrite:         {ns: "AWS/DynamoDB", name: "ProvisionedWriteCapacityUnits", svc: svcTable, every: provisionedEvery},
	mTRequests:          {svc: svcTable}, // requests that reached the table: the samples of Consumed*; no metric of its own
	mQQuiet:             {svc: svcQueue}, // seconds the queue has been inactive
	mQWoke:              {svc: svcQueue}, // seconds since it woke from 6 hours' inactivity
	mDLatency:           {ns: DownstreamNamespace, name: "Latency", svc: svcDownstream},
	mDErrors:            {ns: DownstreamNamespace, name: "Errors", svc: svcDownstream, sparse: true},
	mDRequests:          {ns: DownstreamNamespace, name: "Requests", svc: svcDownstream, sparse: true},
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
	// HTTP APIs name their error counts 4xx and 5xx
	// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-metrics.html).
	"AWS/ApiGateway 4xx": mAPI4xx,
	"AWS/ApiGateway 5xx": mAPI5xx,
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
		if metrics[m].name != "" && metrics[m].ns == ns && metrics[m].name == name {
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
