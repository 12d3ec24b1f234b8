package lambdamode_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// handSignedSSM reads one SSM parameter with a hand-signed AWS JSON 1.1
// request: the baseline BenchmarkSSMFirstCall compares the SDK's client
// with. The product uses lambdamode.SSMParameters.
type handSignedSSM struct {
	Config aws.Config
	HTTP   *http.Client
}

func (c *handSignedSSM) endpoint() string {
	switch {
	case c.Config.BaseEndpoint != nil && *c.Config.BaseEndpoint != "":
		return *c.Config.BaseEndpoint
	case strings.HasPrefix(c.Config.Region, "cn-"):
		return "https://ssm." + c.Config.Region + ".amazonaws.com.cn"
	}
	return "https://ssm." + c.Config.Region + ".amazonaws.com"
}

// GetParameter returns the parameter's value, decrypted.
func (c *handSignedSSM) GetParameter(ctx context.Context, name string) (string, error) {
	if c.Config.Region == "" {
		return "", fmt.Errorf("SSM GetParameter %s: no AWS region", name)
	}
	body, _ := json.Marshal(map[string]any{"Name": name, "WithDecryption": true})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.endpoint(), "/")+"/", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonSSM.GetParameter")
	if c.Config.Credentials == nil {
		return "", fmt.Errorf("SSM GetParameter %s: no AWS credentials", name)
	}
	creds, err := c.Config.Credentials.Retrieve(ctx)
	if err != nil {
		return "", fmt.Errorf("SSM GetParameter %s: credentials: %w", name, err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ssm", c.Config.Region, time.Now()); err != nil {
		return "", fmt.Errorf("SSM GetParameter %s: signing: %w", name, err)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("SSM GetParameter %s: %w", name, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20+1<<16))
	if err != nil {
		return "", fmt.Errorf("SSM GetParameter %s: %w", name, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		json.Unmarshal(out, &e)
		code := e.Type
		if i := strings.LastIndex(code, "#"); i >= 0 {
			code = code[i+1:]
		}
		if code == "" {
			code = resp.Status
		}
		return "", fmt.Errorf("SSM GetParameter %s: %s: %s", name, code, e.Message)
	}
	var r struct {
		Parameter *struct {
			Value *string `json:"Value"`
		} `json:"Parameter"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return "", fmt.Errorf("SSM GetParameter %s: malformed response: %w", name, err)
	}
	if r.Parameter == nil || r.Parameter.Value == nil {
		return "", fmt.Errorf("SSM GetParameter %s: the parameter has no value", name)
	}
	return *r.Parameter.Value, nil
}
