package lambdamode_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/autotuner/autotuner/lambdamode"
)

// BenchmarkSSMFirstCall measures what a cold start pays to read the
// policies from SSM once the AWS configuration is loaded: building the
// client and its first GetParameter against a wire fake, for the SDK's
// client and for a hand-signed AWS JSON 1.1 request (the alternative the
// SDK replaced; kept in ssm_handsigned_test.go as the baseline).
func BenchmarkSSMFirstCall(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, `{"Parameter":{"Name":"/autotuner/policies","Type":"SecureString","Value":"version: 1\n","Version":3}}`)
	}))
	defer srv.Close()
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""), BaseEndpoint: aws.String(srv.URL)}
	ctx := context.Background()
	for _, c := range []struct {
		name string
		new  func() lambdamode.ParameterReader
	}{
		{"sdk", func() lambdamode.ParameterReader { return lambdamode.SSMParameters{Client: ssm.NewFromConfig(cfg)} }},
		{"handsigned", func() lambdamode.ParameterReader { // A fresh transport, as in a new process: no pooled
			// connection to reuse, like the SDK client's own.
			return &handSignedSSM{Config: cfg, HTTP: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}}
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if v, err := c.new().GetParameter(ctx, "/autotuner/policies"); err != nil || v != "version: 1\n" {
					b.Fatalf("%q %v", v, err)
				}
			}
		})
	}
}
