package main

import (
	"fmt"
	"strings"

	"github.com/autotuner/autotuner/config"
)

// stepFunctionsStatements grants a stepfunctions-map or parameter target:
// reading the state machine (and, when publishing, its versions and
// alias), and reading and writing the published value in SSM or DynamoDB.
func stepFunctionsStatements(t *config.Target, part, reg, acct string,
	add func(sid string, actions []string, resources ...string),
	rw func(sid string, read, write []string, resource string)) {
	if t.Kind == config.StepFunctionsMap {
		sf := &t.StepFunctions
		switch {
		case sf.Mode == config.MapModeParameter:
			add("StepFunctionsReadDefinition", []string{"states:DescribeStateMachine"}, sf.StateMachine)
		case sf.Publish:
			rw("StepFunctionsMapConcurrencyPublished", []string{"states:DescribeStateMachine"}, []string{"states:UpdateStateMachine", "states:PublishStateMachineVersion"}, sf.StateMachine)
			// A version's ARN is the machine's with ":N"; the alias's with
			// ":name".
			add("StepFunctionsReadVersions", []string{"states:DescribeStateMachine"}, sf.StateMachine+":*")
			rw("StepFunctionsAlias", []string{"states:DescribeStateMachineAlias"}, []string{"states:UpdateStateMachineAlias"}, sf.StateMachine+":"+sf.Alias)
		default:
			rw("StepFunctionsMapConcurrency", []string{"states:DescribeStateMachine"}, []string{"states:UpdateStateMachine"}, sf.StateMachine)
		}
		if sf.Mode != config.MapModeParameter {
			return
		}
	}
	switch t.ParameterStore.Backend() {
	case "ssm":
		name := t.ParameterStore.SSMParameter
		if !strings.HasPrefix(name, "/") {
			name = "/" + name
		}
		rw("PublishParameter", []string{"ssm:GetParameter"}, []string{"ssm:PutParameter"},
			fmt.Sprintf("arn:%s:ssm:%s:%s:parameter%s", part, reg, acct, name))
	case "dynamodb":
		rw("PublishItem", []string{"dynamodb:GetItem"}, []string{"dynamodb:UpdateItem"},
			fmt.Sprintf("arn:%s:dynamodb:%s:%s:table/%s", part, reg, acct, t.Table))
	}
}

// publishedUnsetHint says how to go back to "no setting" for a Map state
// that had no MaxConcurrency, or a value that was not published.
func publishedUnsetHint(t *config.Target) string {
	if t.Kind == config.StepFunctionsMap && t.StepFunctions.Mode == config.MapModeDefinition {
		return "remove MaxConcurrency from the Map state " + strings.Join(t.StepFunctions.MapState, " > ") + " of " + t.StepFunctions.StateMachine + " (aws stepfunctions update-state-machine)"
	}
	switch t.ParameterStore.Backend() {
	case "ssm":
		return "aws ssm delete-parameter --name " + t.ParameterStore.SSMParameter
	case "dynamodb":
		return "remove the attribute " + t.ParameterStore.Attribute + " from the item (aws dynamodb update-item --table-name " + t.Table + " --update-expression 'REMOVE ...')"
	}
	return ""
}
