package awsfake

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// WaitTableActive polls DescribeTable every `every` until the table is
// ACTIVE, at most `tries` times: an emulator finishes UPDATING on its own
// clock, so a test has to ask rather than assume.
func WaitTableActive(ctx context.Context, api dynamodb.DescribeTableAPIClient, table string, every time.Duration, tries int) error {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for i := 0; i < tries; i++ {
		out, err := api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
		if err != nil {
			return err
		}
		if out.Table.TableStatus == types.TableStatusActive {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return fmt.Errorf("table %s not ACTIVE after %d checks %s apart", table, tries, every)
}
