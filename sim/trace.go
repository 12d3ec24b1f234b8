package sim

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// TraceSpec replays a CSV of counts per step as the offered rate.
//
// Long format (one sample per line): Column names the value column;
// Filter keeps only the rows whose columns hold the given values.
// Wide format (one series per line): Row picks the line whose first column
// starts with it, and Columns is the prefix of the value columns' headers.
type TraceSpec struct {
	File     string            `yaml:"file"` // relative to the traces directory
	Column   string            `yaml:"column"`
	Filter   map[string]string `yaml:"filter"`
	Row      string            `yaml:"row"`
	Columns  string            `yaml:"columns"`
	Step     Duration          `yaml:"step"`     // time between samples (1m)
	Scale    float64           `yaml:"scale"`    // multiplies the rate
	Compress float64           `yaml:"compress"` // plays the trace this many times faster; the rate level is kept
	Loop     bool              `yaml:"loop"`     // start over at the end; otherwise the rate is 0 after it
	Offset   Duration          `yaml:"offset"`   // skip this much of the trace (trace time)
}

// Trace is a loaded trace: requests per second for each step.
type Trace struct {
	Rates []float64 // requests per second, one per step
	Step  time.Duration
}

// maxTraceBytes bounds a trace file; the real ones are a few MB.
const maxTraceBytes = 256 << 20

// ErrNoTraces is returned when a trace scenario cannot find its file.
var ErrNoTraces = errors.New("trace not found")

// openTrace opens a trace file, relative to dir unless absolute, saying
// how to point at the traces when it is not there.
func openTrace(dir, file string) (*os.File, string, error) {
	path := file
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, path, fmt.Errorf("%w: %s does not exist; point --traces at the directory holding %s (the repository's ../shared/traces)", ErrNoTraces, path, filepath.Base(file))
	}
	return f, path, err
}

// LoadTrace reads spec's file from dir.
func LoadTrace(dir string, spec *TraceSpec) (*Trace, error) {
	f, path, err := openTrace(dir, spec.File)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	counts, err := ParseTraceCSV(io.LimitReader(f, maxTraceBytes), spec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	step := spec.Step.D()
	if step <= 0 {
		step = time.Minute
	}
	rates := make([]float64, len(counts))
	for i, c := range counts {
		rates[i] = c / step.Seconds() * scaleOr1(spec.Scale)
	}
	return &Trace{Rates: rates, Step: step}, nil
}

func scaleOr1(s float64) float64 {
	if s == 0 {
		return 1
	}
	return s
}

// ParseTraceCSV reads the counts a spec selects from a CSV stream.
func ParseTraceCSV(r io.Reader, spec *TraceSpec) ([]float64, error) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<16))
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty")
		}
		return nil, fmt.Errorf("reading the header: %w", err)
	}
	header = append([]string(nil), header...)
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	if spec.Row != "" {
		return wideRow(cr, header, spec)
	}
	vi, ok := col[spec.Column]
	if !ok {
		return nil, fmt.Errorf("no column %q (columns: %s)", spec.Column, strings.Join(header, ", "))
	}
	type cond struct {
		i int
		v string
	}
	var conds []cond
	keys := make([]string, 0, len(spec.Filter))
	for k := range spec.Filter {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		i, ok := col[k]
		if !ok {
			return nil, fmt.Errorf("filter names column %q, which is not in the header", k)
		}
		conds = append(conds, cond{i, spec.Filter[k]})
	}
	var out []float64
	line := 1
rows:
	for {
		rec, err := cr.Read()
		line++
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		for _, c := range conds {
			if c.i >= len(rec) || rec[c.i] != c.v {
				continue rows
			}
		}
		if vi >= len(rec) {
			return nil, fmt.Errorf("line %d: has %d fields, no %q", line, len(rec), spec.Column)
		}
		v, err := parseSample(rec[vi])
		if err != nil {
			return nil, fmt.Errorf("line %d: %s: %w", line, spec.Column, err)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, errors.New("no samples selected")
	}
	return out, nil
}

func wideRow(cr *csv.Reader, header []string, spec *TraceSpec) ([]float64, error) {
	var idx []int
	for i, h := range header {
		if strings.HasPrefix(strings.TrimSpace(h), spec.Columns) {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil, fmt.Errorf("no column starts with %q", spec.Columns)
	}
	line := 1
	for {
		rec, err := cr.Read()
		line++
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("no row whose first column starts with %q", spec.Row)
		}
		if err != nil {
			return nil, err
		}
		if len(rec) == 0 || !strings.HasPrefix(rec[0], spec.Row) {
			continue
		}
		out := make([]float64, 0, len(idx))
		for _, i := range idx {
			if i >= len(rec) {
				return nil, fmt.Errorf("line %d: has %d fields, want %d", line, len(rec), len(header))
			}
			v, err := parseSample(rec[i])
			if err != nil {
				return nil, fmt.Errorf("line %d: %s: %w", line, header[i], err)
			}
			out = append(out, v)
		}
		return out, nil
	}
}

// parseSample reads a trace cell. An empty cell is 0: CloudWatch emits no
// datapoint for a minute without requests, and `autotuner record` leaves
// such minutes empty.
func parseSample(s string) (float64, error) {
	if strings.TrimSpace(s) == "" {
		return 0, nil
	}
	return parseCount(s)
}

func parseCount(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, fmt.Errorf("not a number: %q", s)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 1e12 {
		return 0, fmt.Errorf("must be a count between 0 and 1e12, got %q", s)
	}
	return v, nil
}

// DurationPercentiles is one function's row of azure2019-durations.csv, in
// milliseconds.
type DurationPercentiles struct {
	Average float64
	// Points are (quantile, milliseconds) pairs, quantile ascending.
	Points [][2]float64
}

// LoadDurations reads the row of a durations CSV whose first column starts
// with row.
func LoadDurations(dir string, spec *DurationTrace) (*DurationPercentiles, error) {
	f, path, err := openTrace(dir, spec.File)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, err := ParseDurationsCSV(io.LimitReader(f, maxTraceBytes), spec.Row)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// ParseDurationsCSV reads a row in the azure2019-durations.csv format:
// Average and percentile_Average_N columns.
func ParseDurationsCSV(r io.Reader, row string) (*DurationPercentiles, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("reading the header: %w", err)
	}
	avg := -1
	type pc struct {
		i int
		q float64
	}
	var pcs []pc
	for i, h := range header {
		h = strings.TrimSpace(h)
		if h == "Average" {
			avg = i
		}
		if n, ok := strings.CutPrefix(h, "percentile_Average_"); ok {
			q, err := strconv.ParseFloat(n, 64)
			if err != nil || q < 0 || q > 100 {
				return nil, fmt.Errorf("column %q: not a percentile", h)
			}
			pcs = append(pcs, pc{i, q / 100})
		}
	}
	if avg < 0 || len(pcs) < 2 {
		return nil, errors.New("want an Average column and at least two percentile_Average_N columns")
	}
	sort.Slice(pcs, func(a, b int) bool { return pcs[a].q < pcs[b].q })
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("no row whose first column starts with %q", row)
		}
		if err != nil {
			return nil, err
		}
		if len(rec) == 0 || !strings.HasPrefix(rec[0], row) {
			continue
		}
		if len(rec) != len(header) {
			return nil, fmt.Errorf("row %q has %d fields, want %d", row, len(rec), len(header))
		}
		d := &DurationPercentiles{}
		if d.Average, err = parseCount(rec[avg]); err != nil {
			return nil, fmt.Errorf("Average: %w", err)
		}
		last := 0.0
		for _, p := range pcs {
			v, err := parseCount(rec[p.i])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", header[p.i], err)
			}
			v = math.Max(v, last) // percentiles never fall
			last = v
			d.Points = append(d.Points, [2]float64{p.q, v})
		}
		return d, nil
	}
}

// quantile interpolates the duration (ms) at q.
func (d *DurationPercentiles) quantile(q float64) float64 {
	p := d.Points
	if q <= p[0][0] {
		return p[0][1]
	}
	for i := 1; i < len(p); i++ {
		if q <= p[i][0] {
			a, b := p[i-1], p[i]
			if b[0] == a[0] {
				return b[1]
			}
			return a[1] + (b[1]-a[1])*(q-a[0])/(b[0]-a[0])
		}
	}
	return p[len(p)-1][1]
}
