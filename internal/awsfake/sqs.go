package awsfake

import (
	"encoding/json"
	"sync"
)

// SQS fakes GetQueueAttributes over AWS JSON 1.0.
type SQS struct {
	s      *Server
	mu     sync.Mutex
	queues map[string]map[string]string // URL → attributes
}

// SetAttribute sets a queue attribute, creating the queue.
func (q *SQS) SetAttribute(url, name, value string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.queues[url] == nil {
		q.queues[url] = map[string]string{}
	}
	q.queues[url][name] = value
}

func (q *SQS) serve(op string, r *request) response {
	q.mu.Lock()
	defer q.mu.Unlock()
	if op != "GetQueueAttributes" {
		return encodeError("sqs", errorf(400, "UnsupportedOperation", "awsfake: SQS %s is not faked", op))
	}
	var in struct {
		QueueUrl       string
		AttributeNames []string
	}
	if err := json.Unmarshal(r.body, &in); err != nil {
		return encodeError("sqs", errorf(400, "InvalidParameterValue", "%v", err))
	}
	attrs, ok := q.queues[in.QueueUrl]
	if !ok {
		return encodeError("sqs", errorf(400, "QueueDoesNotExist", "The specified queue does not exist."))
	}
	out := map[string]string{}
	for _, n := range in.AttributeNames {
		if v, ok := attrs[n]; ok {
			out[n] = v
		}
	}
	return jsonResponse(map[string]any{"Attributes": out}, "application/x-amz-json-1.0")
}
