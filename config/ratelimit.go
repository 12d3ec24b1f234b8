package config

import "regexp"

// bucketRE is a bucket name: it becomes part of a DynamoDB key.
var bucketRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`)

// MaxBucketRate bounds a ratelimit-bucket's rate, in tokens per second.
const MaxBucketRate = 1e6

// bucketIdentity reads a ratelimit-bucket's table, bucket and burst_ratio:
// the burst autotuner sets with each rate, in seconds of that rate.
func (d *decoder) bucketIdentity(o *obj, t *Target, need func(string, *string)) {
	need("table", &t.Table)
	need("bucket", &t.Bucket)
	if t.Bucket != "" {
		o.check(bucketRE.MatchString(t.Bucket), "bucket", "must be 1-128 letters, digits, '_', '.', ':' or '-', got %q", t.Bucket)
	}
	t.BurstRatio = 1
	if o.number("burst_ratio", &t.BurstRatio) {
		o.check(t.BurstRatio > 0 && t.BurstRatio <= 3600, "burst_ratio", "must be in (0, 3600]: the burst in seconds of the rate, got %v", t.BurstRatio)
	}
}

func checkBucketBounds(o *obj, t *Target) {
	o.check(t.Min > 0, "min", "must be > 0: a rate of 0 stops every caller of the bucket, got %v", t.Min)
	o.check(t.Max <= MaxBucketRate, "max", "must be <= %v tokens/s, got %v", MaxBucketRate, t.Max)
}
