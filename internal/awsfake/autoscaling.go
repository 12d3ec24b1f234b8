package awsfake

import (
	"encoding/json"
	"sync"
)

// AutoScaling fakes Application Auto Scaling's DescribeScalableTargets
// over AWS JSON 1.1.
type AutoScaling struct {
	s       *Server
	mu      sync.Mutex
	targets []ScalableTarget
}

// ScalableTarget is a registered scalable target.
type ScalableTarget struct {
	ServiceNamespace  string // dynamodb
	ResourceID        string // table/orders or table/orders/index/byUser
	ScalableDimension string // dynamodb:table:WriteCapacityUnits, ...
	Min, Max          int
}

// Register adds a scalable target.
func (a *AutoScaling) Register(t ScalableTarget) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.targets = append(a.targets, t)
}

func (a *AutoScaling) serve(op string, r *request) response {
	a.mu.Lock()
	defer a.mu.Unlock()
	if op != "DescribeScalableTargets" {
		return encodeError("autoscaling", errorf(400, "ValidationException", "awsfake: Application Auto Scaling %s is not faked", op))
	}
	var in struct {
		ServiceNamespace  string
		ResourceIds       []string
		ScalableDimension string
		NextToken         string
		MaxResults        int
	}
	if err := json.Unmarshal(r.body, &in); err != nil {
		return encodeError("autoscaling", errorf(400, "ValidationException", "%v", err))
	}
	if in.ServiceNamespace == "" {
		return encodeError("autoscaling", errorf(400, "ValidationException", "1 validation error detected: Value null at 'serviceNamespace' failed to satisfy constraint: Member must not be null"))
	}
	if len(in.ResourceIds) > 50 {
		return encodeError("autoscaling", errorf(400, "ValidationException", "ResourceIds must have at most 50 members"))
	}
	var out []any
	for _, t := range a.targets {
		if t.ServiceNamespace != in.ServiceNamespace {
			continue
		}
		if in.ScalableDimension != "" && t.ScalableDimension != in.ScalableDimension {
			continue
		}
		if len(in.ResourceIds) > 0 && !contains(in.ResourceIds, t.ResourceID) {
			continue
		}
		out = append(out, map[string]any{"ServiceNamespace": t.ServiceNamespace, "ResourceId": t.ResourceID, "ScalableDimension": t.ScalableDimension, "MinCapacity": t.Min, "MaxCapacity": t.Max, "RoleARN": "arn:aws:iam::123456789012:role/aas", "CreationTime": 1.7e9})
	}
	return jsonResponse(map[string]any{"ScalableTargets": out}, "application/x-amz-json-1.1")
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
