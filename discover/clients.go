package discover

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
)

// LambdaAPI is what discovery asks Lambda.
type LambdaAPI interface {
	lambda.ListFunctionsAPIClient
	lambda.ListEventSourceMappingsAPIClient
	GetFunctionConcurrency(ctx context.Context, in *lambda.GetFunctionConcurrencyInput, opts ...func(*lambda.Options)) (*lambda.GetFunctionConcurrencyOutput, error)
}

// APIGatewayAPI is what discovery asks API Gateway.
type APIGatewayAPI interface {
	apigateway.GetUsagePlansAPIClient
	apigateway.GetRestApisAPIClient
	GetStages(ctx context.Context, in *apigateway.GetStagesInput, opts ...func(*apigateway.Options)) (*apigateway.GetStagesOutput, error)
}

// DynamoDBAPI is what discovery asks DynamoDB.
type DynamoDBAPI interface {
	dynamodb.ListTablesAPIClient
	dynamodb.DescribeTableAPIClient
}

// AutoScalingAPI finds the tables Application Auto Scaling manages.
type AutoScalingAPI interface {
	applicationautoscaling.DescribeScalableTargetsAPIClient
}

// TaggingAPI finds resources by tag.
type TaggingAPI interface {
	resourcegroupstaggingapi.GetResourcesAPIClient
}

// CloudWatchAPI reads the load history.
type CloudWatchAPI interface {
	cloudwatch.GetMetricDataAPIClient
}

var (
	_ LambdaAPI      = (*lambda.Client)(nil)
	_ APIGatewayAPI  = (*apigateway.Client)(nil)
	_ DynamoDBAPI    = (*dynamodb.Client)(nil)
	_ AutoScalingAPI = (*applicationautoscaling.Client)(nil)
	_ TaggingAPI     = (*resourcegroupstaggingapi.Client)(nil)
	_ CloudWatchAPI  = (*cloudwatch.Client)(nil)
)

// Clients are the service clients of one account and region.
type Clients struct {
	Region      string
	Lambda      LambdaAPI
	APIGateway  APIGatewayAPI
	DynamoDB    DynamoDBAPI
	AutoScaling AutoScalingAPI
	Tagging     TaggingAPI
	CloudWatch  CloudWatchAPI

	// APIGatewayV2 lists HTTP APIs; nil skips them.
	APIGatewayV2 APIGatewayV2API
}
