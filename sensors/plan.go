package sensors

import (
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/autotuner/autotuner/config"
)

// MaxQueries is GetMetricData's limit of queries per call.
const MaxQueries = 500

// DefaultLookback is how many periods before the newest complete one a read
// covers, so that a gauge that reported a period late still has a value.
const DefaultLookback = 3

// ref is one target's use of a query's result.
type ref struct {
	target string
	sig    *config.Signal
}

// class is what the queries of one call share: the clients they go
// through and the time window, which GetMetricData sets per call.
type class struct {
	region, role  string
	period, delay time.Duration
}

// batch is one GetMetricData request (possibly several pages).
type batch struct {
	class      class
	start, end time.Time
	queries    []types.MetricDataQuery
	// fan maps a query ID to every target signal that reads it. Copies
	// of an expression's inputs made for this call only (ReturnData
	// false) are absent.
	fan map[string][]ref
}

// Plan is the tick's reads: every CloudWatch query, packed into calls.
type Plan struct {
	Batches []*batch
	// Queries counts the distinct metrics and expressions asked for.
	Queries int
	// Refs counts the target signals the queries serve.
	Refs int
	sqs  []*sqsRead
}

// sqsRead is one GetQueueAttributes call and the signals it serves.
type sqsRead struct {
	region, role, url string
	attrs             []string
	refs              []ref
}

// node is a query before packing.
type node struct {
	id    string
	q     types.MetricDataQuery
	refs  []ref
	needs []string       // IDs an expression reads
	sig   *config.Signal // the first signal asking, to tell hash collisions apart
}

// interner shares the pointers the SDK's query shapes want, so that 30,000
// queries naming "AWS/Lambda" hold one string, not 30,000 copies.
type interner struct {
	strs    map[string]*string
	periods map[int32]*int32
	yes, no *bool
}

func newInterner() *interner {
	return &interner{strs: map[string]*string{}, periods: map[int32]*int32{}, yes: aws.Bool(true), no: aws.Bool(false)}
}

func (in *interner) str(s string) *string {
	if p, ok := in.strs[s]; ok {
		return p
	}
	p := new(string) // not &s: that would move every s to the heap, found or not
	*p = s
	in.strs[s] = p
	return p
}

func (in *interner) period(d time.Duration) *int32 {
	v := int32(d / time.Second)
	if p, ok := in.periods[v]; ok {
		return p
	}
	p := new(int32)
	*p = v
	in.periods[v] = p
	return p
}

// NewPlan gathers the queries of targets at now. It is pure: the same
// targets and time give the same plan, IDs included.
func NewPlan(targets []*config.Target, now time.Time, lookback int) *Plan {
	return newPlan(targets, now, lookback, "")
}

// newPlan is NewPlan with the region that targets naming none use, so that
// they share calls with targets naming it.
func newPlan(targets []*config.Target, now time.Time, lookback int, defRegion string) *Plan {
	if lookback < 0 {
		lookback = 0
	}
	p := &Plan{}
	in := newInterner()
	type classNodes struct {
		nodes  []*node
		byHash map[uint64]*node   // metric hash → its node
		clash  map[uint64][]*node // further nodes of a hash: collisions, rare
		byKey  map[string]*node   // expressions
		ids    map[string]string  // id → key, to keep IDs unique
	}
	classes := map[class]*classNodes{}
	var order []class
	sqsByKey := map[string]*sqsRead{}
	for _, t := range targets {
		region := t.Region
		if region == "" {
			region = defRegion
		}
		var local map[string]string // signal name → query ID, for expressions
		var exprs []*config.Signal
		for _, s := range t.SignalList {
			if s.Source == config.SourceTarget {
				continue // the controller knows it: no call
			}
			if s.Source == config.SourceSQS {
				k := region + "\x00" + t.RoleARN + "\x00" + s.QueueURL
				r := sqsByKey[k]
				if r == nil {
					r = &sqsRead{region: region, role: t.RoleARN, url: s.QueueURL}
					sqsByKey[k] = r
					p.sqs = append(p.sqs, r)
				}
				if !contains(r.attrs, s.Attribute) {
					r.attrs = append(r.attrs, s.Attribute)
				}
				r.refs = append(r.refs, ref{target: t.Name, sig: s})
				p.Refs++
				continue
			}
			c := class{region: region, role: t.RoleARN, period: period(s), delay: s.Delay}
			if s.Region != "" { // another region's metric, such as a peer's demand
				c.region = s.Region
			}
			cn := classes[c]
			if cn == nil {
				cn = &classNodes{byHash: map[uint64]*node{}, clash: map[uint64][]*node{}, byKey: map[string]*node{}, ids: map[string]string{}}
				classes[c] = cn
				order = append(order, c)
			}
			if s.Expression != "" {
				exprs = append(exprs, s)
				continue
			}
			h := metricHash(s)
			n := cn.byHash[h]
			if n != nil && !sameMetric(n.sig, s) {
				n = nil
				for _, cand := range cn.clash[h] {
					if sameMetric(cand.sig, s) {
						n = cand
						break
					}
				}
			}
			if n == nil {
				var buf [16]byte
				id := string(strconv.AppendUint(append(buf[:0], 'm'), h, 36))
				if _, taken := cn.ids[id]; taken {
					id = uniqueID(cn.ids, "m", metricKey(s)) // a true collision: rare, so the slow path
				} else {
					cn.ids[id] = ""
				}
				n = &node{id: id, sig: s}
				n.q = types.MetricDataQuery{
					Id:         in.str(id),
					ReturnData: in.yes,
					MetricStat: &types.MetricStat{
						Metric: &types.Metric{Namespace: in.str(s.Namespace), MetricName: in.str(s.Metric), Dimensions: dimensions(in, s.Dimensions)},
						Period: in.period(c.period),
						Stat:   in.str(s.Stat),
					},
				}
				if cn.byHash[h] == nil {
					cn.byHash[h] = n
				} else {
					cn.clash[h] = append(cn.clash[h], n)
				}
				cn.nodes = append(cn.nodes, n)
			}
			n.refs = append(n.refs, ref{target: t.Name, sig: s})
			if len(t.SignalList) > 1 {
				if local == nil {
					local = make(map[string]string, len(t.SignalList))
				}
				local[s.Name] = n.id
			}
			p.Refs++
		}
		// Expressions come after the target's metrics so that they can
		// name them; a signal name in an expression becomes its query ID.
		for _, s := range exprs {
			c := class{region: region, role: t.RoleARN, period: period(s), delay: s.Delay}
			if s.Region != "" { // another region's metric, such as a peer's demand
				c.region = s.Region
			}
			cn := classes[c]
			expr, needs := rewriteExpression(s.Expression, local)
			key := "expr\x00" + strconv.FormatInt(int64(c.period), 10) + "\x00" + expr
			n := cn.byKey[key]
			if n == nil {
				n = &node{id: uniqueID(cn.ids, "e", key), needs: needs}
				n.q = types.MetricDataQuery{
					Id:         in.str(n.id),
					Expression: in.str(expr),
					Period:     in.period(c.period),
					ReturnData: in.yes,
				}
				cn.byKey[key] = n
				cn.nodes = append(cn.nodes, n)
			}
			n.refs = append(n.refs, ref{target: t.Name, sig: s})
			if local == nil {
				local = map[string]string{}
			}
			local[s.Name] = n.id
			p.Refs++
		}
	}
	for _, c := range order {
		cn := classes[c]
		p.Queries += len(cn.nodes)
		end := now.Add(-c.delay).Truncate(c.period)
		start := end.Add(-time.Duration(lookback+1) * c.period)
		p.Batches = append(p.Batches, pack(c, start, end, cn.nodes, in)...)
	}
	return p
}

// pack fills calls of at most MaxQueries. An expression travels with its
// inputs, since GetMetricData resolves IDs within one call; an input
// already sent in an earlier call is repeated with ReturnData false, the
// only case where a metric is asked for twice.
func pack(c class, start, end time.Time, nodes []*node, in *interner) []*batch {
	var out []*batch
	var cur *batch
	has := map[string]bool{}    // IDs in the current call
	served := map[string]bool{} // IDs whose results some call returns
	byID := map[string]*node{}
	for _, n := range nodes {
		byID[n.id] = n
	}
	open := func(room int) {
		if cur == nil || len(cur.queries)+room > MaxQueries {
			cur = &batch{class: c, start: start, end: end, fan: map[string][]ref{}}
			out = append(out, cur)
			has = map[string]bool{}
		}
	}
	add := func(n *node) {
		q := n.q
		if served[n.id] {
			q.ReturnData = in.no // an input repeated for this call
		} else {
			cur.fan[n.id] = n.refs
			served[n.id] = true
		}
		cur.queries = append(cur.queries, q)
		has[n.id] = true
	}
	// closure lists an expression's inputs, inputs of inputs first, then
	// the expression itself.
	var closure func(n *node, seen map[string]bool, out []*node) []*node
	closure = func(n *node, seen map[string]bool, out []*node) []*node {
		if seen[n.id] {
			return out
		}
		seen[n.id] = true
		for _, id := range n.needs {
			if dep := byID[id]; dep != nil {
				out = closure(dep, seen, out)
			}
		}
		return append(out, n)
	}
	for _, n := range nodes {
		if len(n.needs) == 0 {
			continue
		}
		group := closure(n, map[string]bool{}, nil)
		room := 0
		for _, g := range group {
			if !has[g.id] {
				room++
			}
		}
		open(room)
		for _, g := range group {
			if !has[g.id] {
				add(g)
			}
		}
	}
	for _, n := range nodes {
		if served[n.id] {
			continue
		}
		open(1)
		add(n)
	}
	return out
}

func period(s *config.Signal) time.Duration {
	if s.Period <= 0 {
		return time.Minute
	}
	return s.Period
}

// metricKey identifies a metric+stat+period: two targets asking for the
// same key share one query.
func metricKey(s *config.Signal) string {
	var b strings.Builder
	b.WriteString(s.Namespace)
	b.WriteByte(0)
	b.WriteString(s.Metric)
	b.WriteByte(0)
	names := make([]string, 0, len(s.Dimensions))
	for k := range s.Dimensions {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(s.Dimensions[k])
		b.WriteByte(0)
	}
	b.WriteString(s.Stat)
	b.WriteByte(0)
	b.WriteString(strconv.FormatInt(int64(period(s)), 10))
	return b.String()
}

// uniqueID derives a stable query ID from key: CloudWatch IDs start with a
// lower-case letter and hold only [a-zA-Z0-9_]. A hash collision, however
// unlikely, gets a numbered suffix rather than a wrong answer.
func uniqueID(ids map[string]string, prefix, key string) string {
	h := fnv.New64a()
	h.Write([]byte(key))
	base := prefix + strconv.FormatUint(h.Sum64(), 36)
	id := base
	for i := 2; ; i++ {
		k, taken := ids[id]
		if !taken || k == key {
			break
		}
		id = base + "_" + strconv.Itoa(i)
	}
	ids[id] = key
	return id
}

func dimensions(in *interner, m map[string]string) []types.Dimension {
	out := make([]types.Dimension, 0, len(m))
	for k, v := range m {
		out = append(out, types.Dimension{Name: in.str(k), Value: in.str(v)})
	}
	// Insertion sort: a handful of dimensions, and no closure to allocate.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && *out[j].Name < *out[j-1].Name; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// metricHash is FNV-1a over what makes a metric query distinct, dimension
// order aside, computed without building a key string.
func metricHash(s *config.Signal) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	add := func(v string) {
		for i := 0; i < len(v); i++ {
			h = (h ^ uint64(v[i])) * prime
		}
		h = (h ^ 0) * prime
	}
	add(s.Namespace)
	add(s.Metric)
	// Dimensions are a set: combine their hashes order-independently.
	var dims uint64
	for k, v := range s.Dimensions {
		d := uint64(14695981039346656037)
		for i := 0; i < len(k); i++ {
			d = (d ^ uint64(k[i])) * prime
		}
		d = (d ^ '=') * prime
		for i := 0; i < len(v); i++ {
			d = (d ^ uint64(v[i])) * prime
		}
		dims += d * (d | 1)
	}
	for i := 0; i < 8; i++ {
		h = (h ^ (dims >> (8 * i) & 0xff)) * prime
	}
	add(s.Stat)
	p := uint64(period(s))
	for i := 0; i < 8; i++ {
		h = (h ^ (p >> (8 * i) & 0xff)) * prime
	}
	return h
}

// sameMetric reports whether two signals ask for the same query.
func sameMetric(a, b *config.Signal) bool {
	if a.Namespace != b.Namespace || a.Metric != b.Metric || a.Stat != b.Stat || period(a) != period(b) || len(a.Dimensions) != len(b.Dimensions) {
		return false
	}
	for k, v := range a.Dimensions {
		if w, ok := b.Dimensions[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// rewriteExpression replaces the target's signal names in a metric-math
// expression with their query IDs, outside quoted strings (SEARCH terms),
// and returns the IDs it now reads.
func rewriteExpression(expr string, local map[string]string) (string, []string) {
	var b strings.Builder
	var needs []string
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(expr) && expr[j] != c {
				j++
			}
			if j < len(expr) {
				j++
			}
			b.WriteString(expr[i:j])
			i = j
		case isIdentStart(c):
			j := i + 1
			for j < len(expr) && isIdent(expr[j]) {
				j++
			}
			word := expr[i:j]
			if id, ok := local[word]; ok {
				b.WriteString(id)
				if !contains(needs, id) {
					needs = append(needs, id)
				}
			} else {
				b.WriteString(word)
			}
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), needs
}

func isIdentStart(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
func isIdent(c byte) bool      { return isIdentStart(c) || c >= '0' && c <= '9' }

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
