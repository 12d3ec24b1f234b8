package actuators

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/controller"
	"github.com/autotuner/autotuner/internal/awsclient"
)

// StepFunctionsMap sets the concurrency of one Map state
// (stepfunctions-map).
//
// In mode definition it edits MaxConcurrency in the state machine's
// definition and nothing else (see asl.go), then UpdateStateMachine; with
// publish it also publishes a version, guarded by the revision it wrote,
// and moves an alias to it. Running executions keep the definition they
// started with: only executions started after the change see the new
// value.
//
// In mode parameter the workflow reads its limit when it starts, through
// MaxConcurrencyPath; the value is published by the Parameter actuator,
// and the definition is read only to check that the Map really reads it
// and to learn its mode's bound.
type StepFunctionsMap struct {
	Conn      Conn
	Parameter *Parameter

	mu   sync.Mutex
	read map[string]machineRead
}

// machineRead is one target's state machine as read in one tick.
type machineRead struct {
	tick     time.Time
	latest   string // the definition UpdateStateMachine replaces
	revision string
	inForce  MapState // the Map as new executions (through the alias) see it
	forceDef string
}

var _ controller.Actuator = (*StepFunctionsMap)(nil)

// NewStepFunctionsMap returns the actuator; parameter mode publishes
// through p.
func NewStepFunctionsMap(conn Conn, p *Parameter) *StepFunctionsMap {
	return &StepFunctionsMap{Conn: conn, Parameter: p, read: map[string]machineRead{}}
}

func (s *StepFunctionsMap) Current(ctx context.Context, t *config.Target, now time.Time) (controller.State, error) {
	c, err := s.Conn(t.Region, t.RoleARN)
	if err != nil {
		return controller.State{}, err
	}
	m, blocked, err := s.load(ctx, c, t, now)
	if err != nil {
		return controller.State{}, err
	}
	if t.StepFunctions.Mode == config.MapModeParameter {
		return s.currentParameter(ctx, t, m, now)
	}
	if m.inForce.Dynamic != "" {
		return controller.State{}, awsclient.Refuse(awsclient.ClassInvalid, "DescribeStateMachine", t.Identity(), "%s", m.inForce.Dynamic)
	}
	st := controller.State{Value: float64(m.inForce.Effective()), Unset: !m.inForce.Set || m.inForce.Value == 0}
	st.Constraints.Floor = 1
	st.Constraints.Ceiling, st.Constraints.CeilingRule = mapCeiling(t, m.inForce)
	st.Constraints.Blocked = blocked
	return st, nil
}

// mapCeiling is the Map's ceiling: its mode's maximum, lowered by the
// account's quotas the target's executions share.
func mapCeiling(t *config.Target, m MapState) (float64, string) {
	return MapCeiling(MapQuota{ModeMax: float64(m.ModeMax()), Region: t.Region, Executions: t.StepFunctions.Executions,
		TransitionsPerSecond: t.StepFunctions.TransitionsPerSecond, NestedDistributed: m.NestedDistributed, Distributed: m.Distributed})
}

// currentParameter reads the published value, after checking that the
// Map state reads one at all.
func (s *StepFunctionsMap) currentParameter(ctx context.Context, t *config.Target, m machineRead, now time.Time) (controller.State, error) {
	st, err := s.Parameter.Current(ctx, t, now)
	if err != nil {
		return st, err
	}
	st.Constraints.Floor = 1
	st.Constraints.Ceiling, st.Constraints.CeilingRule = mapCeiling(t, m.inForce)
	if m.inForce.Dynamic == "" && st.Constraints.Blocked == "" {
		st.Constraints.Blocked = fmt.Sprintf("the Map state has a fixed MaxConcurrency (%d in force) and reads no parameter: publishing would change nothing; read it through MaxConcurrencyPath, or use mode: definition", m.inForce.Effective())
	}
	return st, nil
}

// load reads the state machine (and the alias's version when publishing)
// once per tick. blocked explains a state in which autotuner must not
// publish.
func (s *StepFunctionsMap) load(ctx context.Context, c *awsclient.Clients, t *config.Target, now time.Time) (machineRead, string, error) {
	sf := &t.StepFunctions
	res := t.Identity()
	if err := spend(c, awsclient.PlaneStates, 1, now, "DescribeStateMachine", res); err != nil {
		return machineRead{}, "", err
	}
	out, err := c.SFN.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(sf.StateMachine)})
	if err != nil {
		return machineRead{}, "", awsclient.Wrap("DescribeStateMachine", res, err)
	}
	m := machineRead{tick: now, latest: aws.ToString(out.Definition), revision: aws.ToString(out.RevisionId)}
	m.forceDef = m.latest
	var blocked string
	if sf.Publish {
		if m.forceDef, blocked, err = s.aliasDefinition(ctx, c, t, now); err != nil {
			return machineRead{}, "", err
		}
	}
	if m.inForce, err = ReadMap(m.forceDef, sf.MapState); err != nil {
		return machineRead{}, "", awsclient.Refuse(awsclient.ClassInvalid, "DescribeStateMachine", res, "%v", err)
	}
	if blocked == "" && sf.Publish && sf.Mode == config.MapModeDefinition && m.inForce.Dynamic == "" && !sameButLimit(m.latest, m.forceDef, sf.MapState) {
		blocked = "the state machine has unpublished changes beside MaxConcurrency; autotuner will not publish someone else's work with its own (publish or discard them)"
	}
	s.mu.Lock()
	s.read[resourceKey(c, sf.StateMachine, fmt.Sprint(sf.MapState))] = m
	s.mu.Unlock()
	return m, blocked, nil
}

// aliasDefinition is the definition of the one version the alias routes
// to. An alias that splits traffic is a deployment in progress.
func (s *StepFunctionsMap) aliasDefinition(ctx context.Context, c *awsclient.Clients, t *config.Target, now time.Time) (string, string, error) {
	sf := &t.StepFunctions
	aliasARN := sf.StateMachine + ":" + sf.Alias
	res := "alias " + aliasARN
	if err := spend(c, awsclient.PlaneStates, 2, now, "DescribeStateMachineAlias", res); err != nil {
		return "", "", err
	}
	al, err := c.SFN.DescribeStateMachineAlias(ctx, &sfn.DescribeStateMachineAliasInput{StateMachineAliasArn: aws.String(aliasARN)})
	if err != nil {
		return "", "", awsclient.Wrap("DescribeStateMachineAlias", res, err)
	}
	if len(al.RoutingConfiguration) != 1 {
		return "", "", awsclient.Refuse(awsclient.ClassConflict, "DescribeStateMachineAlias", res,
			"the alias routes to %d versions: a deployment is in progress, and autotuner will not override it", len(al.RoutingConfiguration))
	}
	v := aws.ToString(al.RoutingConfiguration[0].StateMachineVersionArn)
	out, err := c.SFN.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(v)})
	if err != nil {
		return "", "", awsclient.Wrap("DescribeStateMachine", "version "+v, err)
	}
	return aws.ToString(out.Definition), "", nil
}

// sameButLimit reports whether two definitions differ at most in the Map
// state's MaxConcurrency.
func sameButLimit(a, b string, path []string) bool {
	x, errA := SetMaxConcurrency(a, path, 1)
	y, errB := SetMaxConcurrency(b, path, 1)
	return errA == nil && errB == nil && x == y
}

func (s *StepFunctionsMap) Apply(ctx context.Context, t *config.Target, from, to float64, now time.Time) error {
	if t.StepFunctions.Mode == config.MapModeParameter {
		return s.Parameter.Apply(ctx, t, from, to, now)
	}
	res := t.Identity()
	n, err := whole(to, "UpdateStateMachine", res)
	if err != nil {
		return err
	}
	if n < 1 {
		return awsclient.Refuse(awsclient.ClassInvalid, "UpdateStateMachine", res, "MaxConcurrency %d: autotuner sets 1 or more (0 removes the limit)", n)
	}
	c, err := s.Conn(t.Region, t.RoleARN)
	if err != nil {
		return err
	}
	m, blocked, err := s.fresh(ctx, c, t, now)
	if err != nil {
		return err
	}
	if blocked != "" {
		return awsclient.Refuse(awsclient.ClassConflict, "UpdateStateMachine", res, "%s", blocked)
	}
	if m.inForce.Set && m.inForce.Value == n {
		return nil // already so
	}
	def, err := SetMaxConcurrency(m.latest, t.StepFunctions.MapState, n)
	if err != nil {
		return awsclient.Refuse(awsclient.ClassInvalid, "UpdateStateMachine", res, "%v", err)
	}
	rev, err := s.write(ctx, c, t, def, n, now)
	if rev != "" {
		// What this tick wrote is what the next check compares with, so
		// autotuner's own write never reads as someone else's.
		m.latest, m.revision = def, rev
		if err == nil {
			m.forceDef = def
			m.inForce, _ = ReadMap(def, t.StepFunctions.MapState)
		}
		s.mu.Lock()
		s.read[resourceKey(c, t.StepFunctions.StateMachine, fmt.Sprint(t.StepFunctions.MapState))] = m
		s.mu.Unlock()
	}
	return err
}

// fresh re-reads the machine just before writing and refuses when it
// changed since this tick's read: UpdateStateMachine replaces the whole
// definition, so writing over an edit made in between would undo it.
func (s *StepFunctionsMap) fresh(ctx context.Context, c *awsclient.Clients, t *config.Target, now time.Time) (machineRead, string, error) {
	key := resourceKey(c, t.StepFunctions.StateMachine, fmt.Sprint(t.StepFunctions.MapState))
	s.mu.Lock()
	before, ok := s.read[key]
	s.mu.Unlock()
	m, blocked, err := s.load(ctx, c, t, now)
	if err != nil {
		return m, "", err
	}
	if ok && before.tick.Equal(now) && before.revision != m.revision {
		return m, "", awsclient.Refuse(awsclient.ClassConflict, "UpdateStateMachine", t.Identity(),
			"the state machine changed (revision %s → %s) since it was read this tick; the change waits for the next tick", before.revision, m.revision)
	}
	return m, blocked, nil
}

// write updates the definition and, when publishing, publishes the
// revision it wrote and moves the alias to that version.
// It returns the revision written, "" when nothing was.
func (s *StepFunctionsMap) write(ctx context.Context, c *awsclient.Clients, t *config.Target, def string, n int64, now time.Time) (string, error) {
	sf := &t.StepFunctions
	res := t.Identity()
	calls := 1
	if sf.Publish {
		calls = 3
	}
	if err := spend(c, awsclient.PlaneStatesUpdate, calls, now, "UpdateStateMachine", res); err != nil {
		return "", err
	}
	up, err := c.SFN.UpdateStateMachine(ctx, &sfn.UpdateStateMachineInput{StateMachineArn: aws.String(sf.StateMachine), Definition: aws.String(def)})
	if err != nil {
		return "", awsclient.Wrap("UpdateStateMachine", res, err)
	}
	rev := aws.ToString(up.RevisionId)
	if !sf.Publish {
		return rev, nil
	}
	// Publishing the revision written, not whatever is latest, refuses a
	// concurrent edit (ConflictException) instead of publishing it.
	pub, err := c.SFN.PublishStateMachineVersion(ctx, &sfn.PublishStateMachineVersionInput{
		StateMachineArn: aws.String(sf.StateMachine), RevisionId: up.RevisionId,
		Description: aws.String(fmt.Sprintf("autotuner: MaxConcurrency of %s set to %d", res, n)),
	})
	if err != nil {
		return rev, awsclient.Wrap("PublishStateMachineVersion", res, err)
	}
	_, err = c.SFN.UpdateStateMachineAlias(ctx, &sfn.UpdateStateMachineAliasInput{
		StateMachineAliasArn: aws.String(sf.StateMachine + ":" + sf.Alias),
		RoutingConfiguration: []sfntypes.RoutingConfigurationListItem{{StateMachineVersionArn: pub.StateMachineVersionArn, Weight: 100}},
	})
	return rev, awsclient.Wrap("UpdateStateMachineAlias", "alias "+sf.Alias+" of "+res, err)
}
