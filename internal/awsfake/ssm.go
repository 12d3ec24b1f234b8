package awsfake

import (
	"encoding/json"
	"sync"
)

// SSM fakes Parameter Store's GetParameter and PutParameter over the AWS
// JSON 1.1 protocol (X-Amz-Target: AmazonSSM.<Op>), with versions and the
// Overwrite rule.
type SSM struct {
	s      *Server
	mu     sync.Mutex
	params map[string]*SSMParameter
}

// SSMParameter is one parameter's current value.
type SSMParameter struct {
	Type    string
	Value   string
	Version int
}

func newSSM(s *Server) *SSM { return &SSM{s: s, params: map[string]*SSMParameter{}} }

// Put sets a parameter as another tool would.
func (p *SSM) Put(name, value string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cur := p.params[name]
	if cur == nil {
		cur = &SSMParameter{Type: "String"}
		p.params[name] = cur
	}
	cur.Value = value
	cur.Version++
}

// Get returns a parameter, and whether it exists.
func (p *SSM) Get(name string) (SSMParameter, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cur := p.params[name]; cur != nil {
		return *cur, true
	}
	return SSMParameter{}, false
}

func (p *SSM) serve(op string, r *request) response {
	var in struct {
		Name      string
		Value     string
		Type      string
		Overwrite bool
	}
	if err := json.Unmarshal(r.body, &in); err != nil {
		return encodeError("ssm", errorf(400, "SerializationException", "%v", err))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch op {
	case "GetParameter":
		cur := p.params[in.Name]
		if cur == nil {
			return encodeError("ssm", errorf(400, "ParameterNotFound", ""))
		}
		return jsonResponse(map[string]any{"Parameter": map[string]any{
			"Name": in.Name, "Type": cur.Type, "Value": cur.Value, "Version": cur.Version, "DataType": "text",
			"ARN": "arn:aws:ssm:us-east-1:123456789012:parameter" + slash(in.Name),
		}}, "application/x-amz-json-1.1")
	case "PutParameter":
		cur := p.params[in.Name]
		if cur != nil && !in.Overwrite {
			return encodeError("ssm", errorf(400, "ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true."))
		}
		if in.Value == "" {
			return encodeError("ssm", errorf(400, "ValidationException", "1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1"))
		}
		if cur == nil {
			if in.Type == "" {
				return encodeError("ssm", errorf(400, "ValidationException", "A parameter type is required when you create a parameter."))
			}
			cur = &SSMParameter{Type: in.Type}
			p.params[in.Name] = cur
		}
		cur.Value = in.Value
		cur.Version++
		return jsonResponse(map[string]any{"Version": cur.Version, "Tier": "Standard"}, "application/x-amz-json-1.1")
	}
	return encodeError("ssm", errorf(400, "UnknownOperationException", "awsfake: no SSM fake for %s", op))
}

func slash(name string) string {
	if len(name) > 0 && name[0] == '/' {
		return name
	}
	return "/" + name
}
