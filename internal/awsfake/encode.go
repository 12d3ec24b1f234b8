package awsfake

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"strconv"

	"github.com/fxamacker/cbor/v2"
)

// cborEnc writes timestamps as tag 1 epoch seconds, as rpcv2Cbor does.
var cborEnc = func() cbor.EncMode {
	m, err := cbor.EncOptions{Time: cbor.TimeUnixDynamic, TimeTag: cbor.EncTagRequired}.EncMode()
	if err != nil {
		panic(err)
	}
	return m
}()

var cborDec = func() cbor.DecMode {
	m, err := cbor.DecOptions{TimeTag: cbor.DecTagOptional, DefaultMapType: nil}.DecMode()
	if err != nil {
		panic(err)
	}
	return m
}()

func cborResponse(v any) response {
	b, err := cborEnc.Marshal(v)
	if err != nil {
		return response{status: 500, body: []byte(err.Error())}
	}
	return response{body: b, ctype: "application/cbor", header: map[string]string{"Smithy-Protocol": "rpc-v2-cbor"}}
}

func jsonResponse(v any, ctype string) response {
	b, err := json.Marshal(v)
	if err != nil {
		return response{status: 500, body: []byte(err.Error())}
	}
	return response{body: b, ctype: ctype}
}

// encodeError renders e in the protocol of service.
func encodeError(service string, e APIError) response {
	if e.Status == 0 {
		e.Status = 400
	}
	hdr := map[string]string{}
	for k, v := range e.Header {
		hdr[k] = v
	}
	body := map[string]any{"message": e.Message}
	for k, v := range e.Fields {
		body[k] = v
	}
	switch service {
	case "cloudwatch":
		body["__type"] = "com.amazonaws.cloudwatch#" + e.Code
		r := cborResponse(body)
		r.status = e.Status
		for k, v := range hdr {
			r.header[k] = v
		}
		r.header["X-Amzn-Query-Error"] = e.Code + ";Sender"
		return r
	case "lambda", "apigateway", "apigatewayv2":
		hdr["X-Amzn-ErrorType"] = e.Code
		if service == "lambda" {
			body["Type"] = "User"
		}
		r := jsonResponse(body, "application/json")
		r.status, r.header = e.Status, hdr
		return r
	case "dynamodb", "sqs":
		ns := map[string]string{"dynamodb": "com.amazonaws.dynamodb.v20120810#", "sqs": "com.amazonaws.sqs#"}[service]
		body["__type"] = ns + e.Code
		r := jsonResponse(body, "application/x-amz-json-1.0")
		r.status, r.header = e.Status, hdr
		return r
	case "states":
		body["__type"] = "com.amazonaws.swf.service.v2.model#" + e.Code
		r := jsonResponse(body, "application/x-amz-json-1.0")
		r.status, r.header = e.Status, hdr
		return r
	case "autoscaling", "ssm":
		body["__type"] = e.Code
		r := jsonResponse(body, "application/x-amz-json-1.1")
		r.status, r.header = e.Status, hdr
		return r
	}
	type xmlErr struct {
		XMLName xml.Name `xml:"ErrorResponse"`
		Type    string   `xml:"Error>Type"`
		Code    string   `xml:"Error>Code"`
		Message string   `xml:"Error>Message"`
	}
	b, _ := xml.Marshal(xmlErr{Type: "Sender", Code: e.Code, Message: e.Message})
	return response{status: e.Status, body: b, ctype: "text/xml", header: hdr}
}

func errorf(status int, code, format string, args ...any) APIError {
	return APIError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// num formats a float as AWS's JSON does.
func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
