package gitops

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/redact"
)

// Flux notification-controller Receiver types chartship can call.
const (
	ReceiverGenericHMAC = "generic-hmac" // body signed: X-Signature: sha256=<hex HMAC-SHA256(token, body)>
	ReceiverGeneric     = "generic"      // the secret webhook path is the only credential
)

// NotifyOptions say how to call a Receiver.
type NotifyOptions struct {
	Type       string // generic-hmac (default) or generic
	Token      string // the Receiver's secret token: the HMAC key for generic-hmac
	Payload    []byte // request body; default {}
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// NotifyResult is the Receiver's answer.
type NotifyResult struct {
	Receiver string `json:"receiver"` // the URL with its secret hook path shortened
	Type     string `json:"type"`
	Status   int    `json:"status"`
	Signed   bool   `json:"signed"`
}

// Sign returns the X-Signature value Flux's generic-hmac Receiver verifies.
func Sign(token string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(token))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Notify POSTs to a Flux Receiver webhook so that Flux reconciles the objects
// the Receiver lists (ImageRepository, OCIRepository …) now instead of at its
// next interval.
func Notify(ctx context.Context, receiver string, opts NotifyOptions) (*NotifyResult, error) {
	u, err := url.Parse(receiver)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errdef.Usage(fmt.Errorf("--receiver %q: want the Receiver's webhook URL, https://HOST/hook/…", maskHook(receiver)))
	}
	typ := opts.Type
	if typ == "" {
		typ = ReceiverGenericHMAC
	}
	res := &NotifyResult{Receiver: maskHook(receiver), Type: typ}
	body := opts.Payload
	if len(body) == 0 {
		body = []byte("{}")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, receiver, bytes.NewReader(body))
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("--receiver %s: %v", res.Receiver, err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "chartship")
	switch typ {
	case ReceiverGenericHMAC:
		if opts.Token == "" {
			return nil, errdef.Usage(errors.New("a generic-hmac Receiver needs --token (the Receiver's secret token)"))
		}
		req.Header.Set("X-Signature", Sign(opts.Token, body))
		res.Signed = true
	case ReceiverGeneric:
	default:
		return nil, errdef.Usage(fmt.Errorf("--type %q: use generic-hmac or generic", typ))
	}
	client := opts.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		msg := redact.String(err.Error(), receiver, opts.Token)
		return nil, errdef.External(fmt.Errorf("call Receiver %s: %s", res.Receiver, msg))
	}
	defer resp.Body.Close()
	detail, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	res.Status = resp.StatusCode
	if opts.Logger != nil {
		opts.Logger.Debug("called Flux Receiver", "receiver", res.Receiver, "type", typ, "status", resp.StatusCode)
	}
	if resp.StatusCode/100 == 2 {
		return res, nil
	}
	why := ""
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		why = ": the signature was rejected; --token must be the Receiver's secret token and --type its type"
	case http.StatusNotFound:
		why = ": no Receiver at this path; copy the URL from the Receiver's status.webhookPath"
	}
	text := strings.TrimSpace(redact.String(string(detail), opts.Token))
	return res, errdef.External(fmt.Errorf("the Flux Receiver %s answered %s%s (%s)", res.Receiver, resp.Status, why, text))
}

// maskHook shortens the last path element of a webhook URL — a secret digest
// that is the only credential of a generic Receiver.
func maskHook(raw string) string {
	s := redact.URL(raw)
	i := strings.LastIndexByte(s, '/')
	if i < 0 || len(s)-i-1 <= 8 {
		return s
	}
	return s[:i+1+6] + redact.Mask
}
