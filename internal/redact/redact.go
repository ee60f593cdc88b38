// Package redact keeps secrets out of errors, logs and JSON output.
package redact

import (
	"net/url"
	"strings"
)

// Mask replaces a secret in text.
const Mask = "***"

// URL returns raw with any password in its userinfo masked, and with query
// parameters that commonly carry credentials masked. Strings that don't parse as
// URLs are returned with everything before an '@' in the authority masked.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		if i := strings.Index(raw, "://"); i >= 0 {
			rest := raw[i+3:]
			if at := strings.IndexByte(rest, '@'); at >= 0 && !strings.ContainsAny(rest[:at], "/") {
				return raw[:i+3] + Mask + rest[at:]
			}
		}
		return raw
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		} else if strings.Contains(u.Scheme, "http") {
			// https://TOKEN@host is how tokens travel in git remotes; an ssh user
			// name (git@host) is not a secret.
			u.User = url.User("xxxxx")
		}
	}
	q := u.Query()
	changed := false
	for k := range q {
		switch strings.ToLower(k) {
		case "token", "access_token", "refresh_token", "password", "sig", "signature", "code":
			q.Set(k, Mask)
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	out := strings.Replace(u.String(), ":xxxxx@", ":"+Mask+"@", 1)
	return strings.Replace(out, "//xxxxx@", "//"+Mask+"@", 1)
}

// String returns s with every non-empty secret replaced by Mask.
func String(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, Mask)
		}
	}
	return s
}
