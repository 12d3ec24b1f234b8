package config

import (
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// signal reads one signal: a CloudWatch metric or metric-math expression,
// an SQS attribute read in real time, or another target's limit.
func (d *decoder) signal(n *yaml.Node, path, name string, def *Defaults) *Signal {
	s := &Signal{Name: name, Source: SourceCloudWatch, Period: def.Period, Missing: MissingHold, Delay: def.MetricDelay}
	if n != nil {
		s.Line, s.Col = n.Line, n.Column
	}
	o := d.obj(n, path)
	if rn := resolve(n); rn == nil || rn.Kind == yaml.ScalarNode && rn.Tag == "!!null" {
		d.errorf(n, path, "must describe a metric")
		return s
	}
	var src string
	if o.str("source", &src) {
		s.Source = Source(src)
		o.check(s.Source == SourceCloudWatch || s.Source == SourceSQS || s.Source == SourceTarget, "source", "must be cloudwatch, sqs or target, got %q", src)
	}
	if s.Source == SourceTarget {
		// Another target's limit in force: autotuner knows it, so it
		// costs no call and has no period or delay.
		if o.required("target", &s.Target); s.Target != "" {
			d.targetRefs = append(d.targetRefs, targetRef{node: valueOf(n, "target"), path: o.at("target"), target: s.Target})
		}
		o.done()
		return s
	}
	var missing string
	if o.str("missing", &missing) {
		s.Missing = Missing(missing)
		o.check(s.Missing == MissingHold || s.Missing == MissingZero, "missing", "must be hold or zero, got %q", missing)
	}
	if s.Source == SourceSQS {
		o.required("queue_url", &s.QueueURL)
		s.Attribute = "ApproximateNumberOfMessages"
		if o.str("attribute", &s.Attribute) {
			ok := s.Attribute == "ApproximateNumberOfMessages" || s.Attribute == "ApproximateNumberOfMessagesNotVisible" || s.Attribute == "ApproximateNumberOfMessagesDelayed"
			o.check(ok, "attribute", "must be ApproximateNumberOfMessages, ApproximateNumberOfMessagesNotVisible or ApproximateNumberOfMessagesDelayed, got %q", s.Attribute)
		}
		o.done()
		return s
	}
	if o.duration("period", &s.Period) {
		o.check(validPeriod(s.Period), "period", "must be 1s, 5s, 10s, 30s or a multiple of 60s, got %s", s.Period)
	}
	if o.duration("delay", &s.Delay) {
		o.check(s.Delay >= 0 && s.Delay <= time.Hour, "delay", "must be between 0s and 1h, got %s", s.Delay)
	}
	if o.str("region", &s.Region) {
		o.checkRegion("region", s.Region, def.AllowUnknownRegions)
	}
	o.boolean("per_second", &s.PerSecond)
	if o.str("expression", &s.Expression) {
		o.check(strings.TrimSpace(s.Expression) != "", "expression", "must not be empty")
		for _, k := range []string{"namespace", "metric", "dimensions", "stat"} {
			o.check(!o.has(k), k, "does not go with expression: a metric-math signal has no %s", k)
		}
		o.get("namespace")
		o.get("metric")
		o.get("dimensions")
		o.get("stat")
		o.done()
		return s
	}
	o.required("namespace", &s.Namespace)
	o.required("metric", &s.Metric)
	s.Dimensions = o.stringMap("dimensions")
	if len(s.Dimensions) > 30 {
		o.check(false, "dimensions", "has %d dimensions; CloudWatch allows 30", len(s.Dimensions))
	}
	if o.str("stat", &s.Stat) {
		o.check(statRE.MatchString(s.Stat), "stat", "must be Sum, Average, Minimum, Maximum, SampleCount or a percentile such as p99, got %q", s.Stat)
	} else {
		o.check(false, "stat", "is required (Sum, Average, Maximum, Minimum, SampleCount or pNN)")
	}
	if strings.HasPrefix(s.Namespace, "AWS/") && s.Delay < time.Minute {
		// AWS service metrics are complete only after about 2 minutes:
		// with less, the period still filling in would be read as final,
		// and an empty one as a quiet one.
		o.check(false, "delay", "must be at least 1m for AWS service metrics, which fill in for about 2 minutes; got %s (set here or by defaults.metric_delay)", s.Delay)
	}
	o.done()
	return s
}
