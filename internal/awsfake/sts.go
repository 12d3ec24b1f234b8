package awsfake

import (
	"encoding/xml"
	"time"
)

// STS fakes GetCallerIdentity and AssumeRole over the AWS query protocol.
type STS struct {
	Account string
}

func (s *STS) serve(op string, r *request) response {
	switch op {
	case "GetCallerIdentity":
		type result struct {
			XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ GetCallerIdentityResponse"`
			Account string   `xml:"GetCallerIdentityResult>Account"`
			Arn     string   `xml:"GetCallerIdentityResult>Arn"`
			UserID  string   `xml:"GetCallerIdentityResult>UserId"`
		}
		b, _ := xml.Marshal(result{Account: s.Account, Arn: "arn:aws:iam::" + s.Account + ":user/test", UserID: "AIDTEST"})
		return response{body: b, ctype: "text/xml"}
	case "AssumeRole":
		type result struct {
			XMLName      xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleResponse"`
			AccessKeyID  string   `xml:"AssumeRoleResult>Credentials>AccessKeyId"`
			Secret       string   `xml:"AssumeRoleResult>Credentials>SecretAccessKey"`
			SessionToken string   `xml:"AssumeRoleResult>Credentials>SessionToken"`
			Expiration   string   `xml:"AssumeRoleResult>Credentials>Expiration"`
			RoleARN      string   `xml:"AssumeRoleResult>AssumedRoleUser>Arn"`
			RoleID       string   `xml:"AssumeRoleResult>AssumedRoleUser>AssumedRoleId"`
		}
		b, _ := xml.Marshal(result{AccessKeyID: "ASIATEST", Secret: "test", SessionToken: "test", Expiration: time.Now().Add(time.Hour).UTC().Format(time.RFC3339), RoleARN: r.PostForm.Get("RoleArn"), RoleID: "AROATEST:autotuner"})
		return response{body: b, ctype: "text/xml"}
	}
	return encodeError("sts", errorf(400, "InvalidAction", "awsfake: STS %s is not faked", op))
}
