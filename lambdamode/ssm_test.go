package lambdamode_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/autotuner/autotuner/lambdamode"
)

// The SDK's SSM client against a wire-level fake of GetParameter (AWS
// JSON 1.1): signed for the region, decrypted, errors decoded.
func TestSSMParametersWire(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "AmazonSSM.GetParameter" ||
			r.Header.Get("Content-Type") != "application/x-amz-json-1.1" ||
			!strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") || !strings.Contains(auth, "/eu-west-1/ssm/aws4_request") ||
			r.Header.Get("X-Amz-Date") == "" || r.Header.Get("X-Amz-Security-Token") != "tok" {
			w.WriteHeader(400)
			io.WriteString(w, `{"__type":"com.amazon.coral.service#InvalidSignatureException","message":"bad request shape"}`)
			return
		}
		var in struct {
			Name           string
			WithDecryption bool
		}
		json.NewDecoder(r.Body).Decode(&in)
		switch {
		case in.Name == "/autotuner/policies" && in.WithDecryption:
			io.WriteString(w, `{"Parameter":{"Name":"/autotuner/policies","Type":"SecureString","Value":"version: 1\n","Version":3}}`)
		default:
			w.WriteHeader(400)
			io.WriteString(w, `{"__type":"ParameterNotFound","message":"parameter `+in.Name+` not found"}`)
		}
	}))
	defer srv.Close()
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "tok")}
	c := lambdamode.SSMParameters{Client: ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.BaseEndpoint = aws.String(srv.URL) })}
	ctx := context.Background()
	v, err := c.GetParameter(ctx, "/autotuner/policies")
	if err != nil || v != "version: 1\n" {
		t.Fatalf("got %q, %v", v, err)
	}
	_, err = c.GetParameter(ctx, "/nope")
	if err == nil || !strings.Contains(err.Error(), "SSM GetParameter /nope") || !strings.Contains(err.Error(), "ParameterNotFound: parameter /nope not found") {
		t.Errorf("missing parameter: %v", err)
	}
}
