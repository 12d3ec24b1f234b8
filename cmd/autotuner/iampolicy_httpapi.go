package main

import "fmt"

// HTTP API resources are named under /apis, apart from REST's /restapis
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/arn-format-reference.html);
// reading and changing a stage are apigateway:GET and apigateway:PATCH on
// the stage's ARN, as for REST APIs.

// httpStageARN is an HTTP API stage's ARN.
func httpStageARN(part, region, api, stage string) string {
	return fmt.Sprintf("arn:%s:apigateway:%s::/apis/%s/stages/%s", part, region, api, stage)
}

// httpAPIListARNs are what a selector lists: the APIs, then each one's
// stages.
func httpAPIListARNs(part, region string) []string {
	return []string{
		fmt.Sprintf("arn:%s:apigateway:%s::/apis", part, region),
		fmt.Sprintf("arn:%s:apigateway:%s::/apis/*/stages", part, region),
	}
}
