package awsfake

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// CloudWatch fakes GetMetricData over Smithy RPC v2 CBOR (and AWS JSON
// 1.0, for the protocol switch).
type CloudWatch struct {
	s *Server
	// PageSize, when positive, returns at most this many results per
	// page and a NextToken for the rest, to exercise paging.
	PageSize int
	// Status, when set, overrides the StatusCode of a query ID.
	Status map[string]string
	// StatusFunc, when set, may override any query's StatusCode (a
	// non-empty answer), after Status.
	StatusFunc func(q MetricDataQuery) string
	// Value, when set, answers every query: the value of the datapoint at
	// ts, or false for none. It replaces Put data.
	Value func(q MetricDataQuery, ts time.Time) (float64, bool)

	mu   sync.Mutex
	data map[string]map[int64]float64 // metric key → unix seconds → value
	reqs []GetMetricDataInput
}

// Metric names a metric as the fake stores it.
type Metric struct {
	Namespace, Name, Stat string
	Dimensions            map[string]string
	Period                time.Duration
}

func (m Metric) key() string {
	var dims []string
	for k, v := range m.Dimensions {
		dims = append(dims, k+"="+v)
	}
	sort.Strings(dims)
	p := m.Period
	if p == 0 {
		p = time.Minute
	}
	return strings.Join([]string{m.Namespace, m.Name, strings.Join(dims, ","), m.Stat, strconv.Itoa(int(p / time.Second))}, "|")
}

// Put stores a datapoint of metric at the period starting at ts.
func (c *CloudWatch) Put(m Metric, ts time.Time, v float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := m.key()
	if c.data[k] == nil {
		c.data[k] = map[int64]float64{}
	}
	c.data[k][ts.Unix()] = v
}

// Requests returns every decoded GetMetricData request.
func (c *CloudWatch) Requests() []GetMetricDataInput {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]GetMetricDataInput(nil), c.reqs...)
}

// The wire shapes of GetMetricData. The same structs decode CBOR (rpcv2)
// and JSON; timestamps are tag-1 epoch seconds in CBOR.
type (
	GetMetricDataInput struct {
		MetricDataQueries []MetricDataQuery `cbor:"MetricDataQueries" json:"MetricDataQueries"`
		StartTime         time.Time         `cbor:"StartTime" json:"-"`
		EndTime           time.Time         `cbor:"EndTime" json:"-"`
		NextToken         string            `cbor:"NextToken,omitempty" json:"NextToken,omitempty"`
		ScanBy            string            `cbor:"ScanBy,omitempty" json:"ScanBy,omitempty"`
		MaxDatapoints     int               `cbor:"MaxDatapoints,omitempty" json:"MaxDatapoints,omitempty"`
	}
	MetricDataQuery struct {
		Id         string      `cbor:"Id" json:"Id"`
		MetricStat *MetricStat `cbor:"MetricStat,omitempty" json:"MetricStat,omitempty"`
		Expression string      `cbor:"Expression,omitempty" json:"Expression,omitempty"`
		Label      string      `cbor:"Label,omitempty" json:"Label,omitempty"`
		ReturnData *bool       `cbor:"ReturnData,omitempty" json:"ReturnData,omitempty"`
		Period     int         `cbor:"Period,omitempty" json:"Period,omitempty"`
	}
	MetricStat struct {
		Metric MetricID `cbor:"Metric" json:"Metric"`
		Period int      `cbor:"Period" json:"Period"`
		Stat   string   `cbor:"Stat" json:"Stat"`
		Unit   string   `cbor:"Unit,omitempty" json:"Unit,omitempty"`
	}
	MetricID struct {
		Namespace  string      `cbor:"Namespace" json:"Namespace"`
		MetricName string      `cbor:"MetricName" json:"MetricName"`
		Dimensions []Dimension `cbor:"Dimensions,omitempty" json:"Dimensions,omitempty"`
	}
	Dimension struct {
		Name  string `cbor:"Name" json:"Name"`
		Value string `cbor:"Value" json:"Value"`
	}
	metricDataResult struct {
		Id         string      `cbor:"Id"`
		Label      string      `cbor:"Label,omitempty"`
		Timestamps []time.Time `cbor:"Timestamps"`
		Values     []float64   `cbor:"Values"`
		StatusCode string      `cbor:"StatusCode"`
	}
	getMetricDataOutput struct {
		MetricDataResults []metricDataResult `cbor:"MetricDataResults"`
		NextToken         string             `cbor:"NextToken,omitempty"`
	}
)

// Metric returns the fake's name of a query's metric.
func (q MetricDataQuery) Metric() Metric {
	if q.MetricStat == nil {
		return Metric{}
	}
	dims := map[string]string{}
	for _, d := range q.MetricStat.Metric.Dimensions {
		dims[d.Name] = d.Value
	}
	return Metric{Namespace: q.MetricStat.Metric.Namespace, Name: q.MetricStat.Metric.MetricName, Stat: q.MetricStat.Stat, Dimensions: dims, Period: time.Duration(q.MetricStat.Period) * time.Second}
}

func (c *CloudWatch) serve(op string, r *request) response {
	if op != "GetMetricData" {
		return encodeError("cloudwatch", errorf(400, "InvalidAction", "awsfake: CloudWatch %s is not faked", op))
	}
	var in GetMetricDataInput
	isJSON := r.Header.Get("X-Amz-Target") != ""
	isQuery := !isJSON && r.PostForm.Get("Action") != ""
	fail := func(e APIError) response {
		if isQuery {
			return encodeError("query", e)
		}
		return encodeError("cloudwatch", e)
	}
	switch {
	case isQuery:
		var err error
		if in, err = parseQueryInput(r.PostForm); err != nil {
			return fail(errorf(400, "InvalidParameterValue", "%v", err))
		}
	case isJSON:
		var aux struct {
			GetMetricDataInput
			StartTime float64
			EndTime   float64
		}
		if err := json.Unmarshal(r.body, &aux); err != nil {
			return encodeError("cloudwatch", errorf(400, "SerializationException", "%v", err))
		}
		in = aux.GetMetricDataInput
		in.StartTime, in.EndTime = unixTime(aux.StartTime), unixTime(aux.EndTime)
	default:
		if ct := r.Header.Get("Content-Type"); ct != "application/cbor" || r.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" {
			return encodeError("cloudwatch", errorf(400, "SerializationException", "want application/cbor and Smithy-Protocol rpc-v2-cbor, got %q, %q", ct, r.Header.Get("Smithy-Protocol")))
		}
		if err := cborDec.Unmarshal(r.body, &in); err != nil {
			return encodeError("cloudwatch", errorf(400, "SerializationException", "%v", err))
		}
	}
	c.mu.Lock()
	c.reqs = append(c.reqs, in)
	c.mu.Unlock()
	if len(in.MetricDataQueries) > 500 {
		return fail(errorf(400, "InvalidParameterValue", "The collection MetricDataQueries must not have a size greater than 500."))
	}
	seen := map[string]bool{}
	for _, q := range in.MetricDataQueries {
		if !validID(q.Id) {
			return fail(errorf(400, "InvalidParameterValue", "The value %s for parameter MetricDataQueries.member.Id is invalid.", q.Id))
		}
		if seen[q.Id] {
			return fail(errorf(400, "InvalidParameterValue", "The values for parameter id in MetricDataQueries are not unique."))
		}
		seen[q.Id] = true
	}
	if !in.StartTime.Before(in.EndTime) {
		return fail(errorf(400, "InvalidParameterValue", "The parameter StartTime must be less than the parameter EndTime."))
	}
	var results []metricDataResult
	for _, q := range in.MetricDataQueries {
		if q.ReturnData != nil && !*q.ReturnData {
			continue
		}
		results = append(results, c.answer(q, in.StartTime, in.EndTime))
	}
	start := 0
	if in.NextToken != "" {
		start, _ = strconv.Atoi(in.NextToken)
	}
	start = min(start, len(results))
	out := getMetricDataOutput{}
	end := len(results)
	if c.PageSize > 0 && start+c.PageSize < end {
		end = start + c.PageSize
		out.NextToken = strconv.Itoa(end)
	}
	out.MetricDataResults = results[start:end]
	if isQuery {
		return queryResponse(out)
	}
	if isJSON {
		type jres struct {
			Id         string
			Label      string `json:",omitempty"`
			Timestamps []float64
			Values     []float64
			StatusCode string
		}
		var js []jres
		for _, r := range out.MetricDataResults {
			ts := make([]float64, len(r.Timestamps))
			for i, t := range r.Timestamps {
				ts[i] = float64(t.Unix())
			}
			js = append(js, jres{Id: r.Id, Label: r.Label, Timestamps: ts, Values: r.Values, StatusCode: r.StatusCode})
		}
		return jsonResponse(map[string]any{"MetricDataResults": js, "NextToken": out.NextToken}, "application/x-amz-json-1.0")
	}
	return cborResponse(out)
}

// answer lists a query's datapoints, newest first (ScanBy descending).
func (c *CloudWatch) answer(q MetricDataQuery, start, end time.Time) metricDataResult {
	res := metricDataResult{Id: q.Id, StatusCode: "Complete", Timestamps: []time.Time{}, Values: []float64{}}
	if st, ok := c.Status[q.Id]; ok {
		res.StatusCode = st
	}
	if c.StatusFunc != nil {
		if st := c.StatusFunc(q); st != "" {
			res.StatusCode = st
		}
	}
	period := q.Period
	if q.MetricStat != nil {
		period = q.MetricStat.Period
	}
	if period <= 0 {
		period = 60
	}
	c.mu.Lock()
	data := c.data[q.Metric().key()]
	c.mu.Unlock()
	for ts := end.Add(-time.Duration(period) * time.Second); !ts.Before(start); ts = ts.Add(-time.Duration(period) * time.Second) {
		var v float64
		var ok bool
		if c.Value != nil {
			v, ok = c.Value(q, ts)
		} else if q.MetricStat != nil {
			v, ok = data[ts.Unix()]
		}
		if ok {
			res.Timestamps = append(res.Timestamps, ts.UTC())
			res.Values = append(res.Values, v)
		}
	}
	return res
}

func validID(id string) bool {
	if id == "" || id[0] < 'a' || id[0] > 'z' || len(id) > 255 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func unixTime(f float64) time.Time {
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC()
}

// parseQueryInput reads GetMetricData from the awsQuery form encoding.
func parseQueryInput(f url.Values) (GetMetricDataInput, error) {
	var in GetMetricDataInput
	var err error
	if in.StartTime, err = time.Parse(time.RFC3339Nano, f.Get("StartTime")); err != nil {
		return in, fmt.Errorf("StartTime: %w", err)
	}
	if in.EndTime, err = time.Parse(time.RFC3339Nano, f.Get("EndTime")); err != nil {
		return in, fmt.Errorf("EndTime: %w", err)
	}
	in.NextToken, in.ScanBy = f.Get("NextToken"), f.Get("ScanBy")
	for i := 1; i <= 1000; i++ {
		p := fmt.Sprintf("MetricDataQueries.member.%d.", i)
		id := f.Get(p + "Id")
		if id == "" {
			break
		}
		q := MetricDataQuery{Id: id, Expression: f.Get(p + "Expression"), Label: f.Get(p + "Label")}
		if v := f.Get(p + "ReturnData"); v != "" {
			b := v == "true"
			q.ReturnData = &b
		}
		q.Period, _ = strconv.Atoi(f.Get(p + "Period"))
		if stat := f.Get(p + "MetricStat.Stat"); stat != "" {
			ms := &MetricStat{Stat: stat, Metric: MetricID{Namespace: f.Get(p + "MetricStat.Metric.Namespace"), MetricName: f.Get(p + "MetricStat.Metric.MetricName")}}
			ms.Period, _ = strconv.Atoi(f.Get(p + "MetricStat.Period"))
			for j := 1; j <= 30; j++ {
				dp := fmt.Sprintf("%sMetricStat.Metric.Dimensions.member.%d.", p, j)
				name := f.Get(dp + "Name")
				if name == "" {
					break
				}
				ms.Metric.Dimensions = append(ms.Metric.Dimensions, Dimension{Name: name, Value: f.Get(dp + "Value")})
			}
			q.MetricStat = ms
		}
		in.MetricDataQueries = append(in.MetricDataQueries, q)
	}
	return in, nil
}

// queryResponse renders GetMetricData's answer as awsQuery XML.
func queryResponse(out getMetricDataOutput) response {
	type member struct {
		Id         string   `xml:"Id"`
		Label      string   `xml:"Label,omitempty"`
		Timestamps []string `xml:"Timestamps>member"`
		Values     []string `xml:"Values>member"`
		StatusCode string   `xml:"StatusCode"`
	}
	type doc struct {
		XMLName   xml.Name `xml:"http://monitoring.amazonaws.com/doc/2010-08-01/ GetMetricDataResponse"`
		Results   []member `xml:"GetMetricDataResult>MetricDataResults>member"`
		NextToken string   `xml:"GetMetricDataResult>NextToken,omitempty"`
		RequestID string   `xml:"ResponseMetadata>RequestId"`
	}
	d := doc{NextToken: out.NextToken, RequestID: "awsfake"}
	for _, r := range out.MetricDataResults {
		m := member{Id: r.Id, Label: r.Label, StatusCode: r.StatusCode}
		for i, t := range r.Timestamps {
			m.Timestamps = append(m.Timestamps, t.UTC().Format(time.RFC3339))
			m.Values = append(m.Values, num(r.Values[i]))
		}
		d.Results = append(d.Results, m)
	}
	b, err := xml.Marshal(d)
	if err != nil {
		return response{status: 500, body: []byte(err.Error())}
	}
	return response{body: b, ctype: "text/xml"}
}
