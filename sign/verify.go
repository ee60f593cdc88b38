package sign

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/chartship/chartship/internal/errdef"
)

// VerifyOptions say whose signatures count: a public key (cosign.pub), or a
// keyless identity (the certificate's SAN and the OIDC issuer, as cosign
// spells them) checked against a trusted root.
type VerifyOptions struct {
	// Key is a PEM public key file (cosign.pub).
	Key string
	// CertificateIdentity and CertificateOIDCIssuer are what a keyless
	// signature's Fulcio certificate must say.
	CertificateIdentity   string
	CertificateOIDCIssuer string
	// TrustedRoot is a sigstore trusted_root.json (Fulcio CAs, Rekor keys) for
	// keyless verification.
	TrustedRoot string
}

// Validate reports options that can't work together.
func (o VerifyOptions) Validate() error {
	keyless := o.CertificateIdentity != "" || o.CertificateOIDCIssuer != ""
	switch {
	case o.Key != "" && keyless:
		return errdef.Usage(errors.New("give --cosign-key or --certificate-identity/--certificate-oidc-issuer, not both"))
	case o.Key == "" && !keyless:
		return errdef.Usage(errors.New("say whose signature counts: --cosign-key cosign.pub, or --certificate-identity and --certificate-oidc-issuer"))
	case keyless && (o.CertificateIdentity == "" || o.CertificateOIDCIssuer == ""):
		return errdef.Usage(errors.New("keyless verification needs both --certificate-identity and --certificate-oidc-issuer"))
	case keyless && o.TrustedRoot == "":
		return errdef.Usage(errors.New("keyless verification needs --trusted-root FILE (the sigstore trusted_root.json of the Fulcio and Rekor that signed)"))
	}
	return nil
}

// Verifier checks sigstore bundles attached to charts.
type Verifier struct {
	trusted  root.TrustedMaterial
	vopts    []verify.VerifierOption
	identity []verify.PolicyOption
	who      string // for messages: the key or the identity
}

// NewVerifier reads the key or the trusted root.
func NewVerifier(o VerifyOptions) (*Verifier, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Key != "" {
		v, err := loadPublicKey(o.Key)
		if err != nil {
			return nil, err
		}
		kv, err := newKeyVerifier(v)
		if err != nil {
			return nil, err
		}
		kv.who = "key " + o.Key
		return kv, nil
	}
	tr, err := root.NewTrustedRootFromPath(o.TrustedRoot)
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("--trusted-root %s: %w", o.TrustedRoot, err))
	}
	id, err := verify.NewShortCertificateIdentity(o.CertificateOIDCIssuer, "", o.CertificateIdentity, "")
	if err != nil {
		return nil, errdef.Usage(fmt.Errorf("--certificate-identity/--certificate-oidc-issuer: %w", err))
	}
	vopts := []verify.VerifierOption{verify.WithTransparencyLog(1), verify.WithIntegratedTimestamps(1)}
	if len(tr.CTLogs()) > 0 {
		// Certificates of a Fulcio with a CT log (the public-good one) must carry its SCT.
		vopts = append(vopts, verify.WithSignedCertificateTimestamps(1))
	}
	return &Verifier{
		trusted:  tr,
		vopts:    vopts,
		identity: []verify.PolicyOption{verify.WithCertificateIdentity(id)},
		who:      fmt.Sprintf("identity %s (issuer %s)", o.CertificateIdentity, o.CertificateOIDCIssuer),
	}, nil
}

// newKeyVerifier trusts one public key, whatever hint a bundle gives, with no
// transparency log or timestamp (key-based signatures are not logged).
func newKeyVerifier(v signature.Verifier) (*Verifier, error) {
	key := root.NewExpiringKey(v, time.Time{}, time.Time{})
	return &Verifier{
		trusted:  root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) { return key, nil }),
		vopts:    []verify.VerifierOption{verify.WithNoObserverTimestamps()},
		identity: []verify.PolicyOption{verify.WithKey()},
		who:      "the signing key",
	}, nil
}

// Statement is a verified in-toto statement about a chart.
type Statement struct {
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
	Ref           string          `json:"ref"` // the referrer holding its bundle
}

// Rejected is a sigstore bundle attached to the chart that did not verify.
type Rejected struct {
	Ref           string `json:"ref"`
	PredicateType string `json:"predicateType,omitempty"`
	Reason        string `json:"reason"`
}

// Verification is what Verify found on a chart.
type Verification struct {
	Ref        string      `json:"ref"`    // REPO:VERSION
	Digest     string      `json:"digest"` // the chart manifest
	Signed     bool        `json:"signed"` // a plain signature verified
	Statements []Statement `json:"statements"`
	Rejected   []Rejected  `json:"rejected,omitempty"`
	Referrers  int         `json:"referrers"` // referrers of every kind
	// UpgradeTest is the attested upgrade test that RequireUpgradeTest accepted.
	UpgradeTest *UpgradeTestPredicate `json:"upgradeTest,omitempty"`
	who         string
}

// Verify checks the signatures and attestations of chart:version in st. The
// error (a check error, exit 2) says what was found when no signature verifies.
func (v *Verifier) Verify(ctx context.Context, st Store, chart, version string) (*Verification, error) {
	subject, err := st.Subject(ctx, chart, version)
	if err != nil {
		return nil, fmt.Errorf("verifying %s:%s in %s: %w", chart, version, st, err)
	}
	all, err := st.Referrers(ctx, chart, subject, "")
	if err != nil {
		return nil, err
	}
	f, err := v.check(ctx, st, chart, subject, all)
	if err != nil {
		return nil, err
	}
	res := &Verification{
		Ref:    strings.TrimSuffix(st.Reference(chart, subject.Digest), "@"+subject.Digest.String()) + ":" + version,
		Digest: subject.Digest.String(), Statements: f.statements, Rejected: f.rejected,
		Referrers: len(all), who: v.who,
	}
	for _, s := range f.statements {
		if s.PredicateType == SignPredicateType {
			res.Signed = true
		}
	}
	if !res.Signed {
		return res, errdef.Check(fmt.Errorf("%s (%s) is not signed by %s: %s", res.Ref, res.Digest, v.who, res.found()))
	}
	return res, nil
}

// found says in words what the referrers held.
func (r *Verification) found() string {
	bundles := len(r.Statements) + len(r.Rejected)
	if bundles == 0 {
		return fmt.Sprintf("no sigstore bundle among its %d referrers (sign it with chartship publish --cosign-key, or cosign sign)", r.Referrers)
	}
	var parts []string
	for _, s := range r.Statements {
		parts = append(parts, "verified "+s.PredicateType)
	}
	for _, x := range r.Rejected {
		parts = append(parts, fmt.Sprintf("%s rejected: %s", x.Ref, x.Reason))
	}
	return fmt.Sprintf("%d sigstore bundles: %s", bundles, strings.Join(parts, "; "))
}

// Text writes what was verified, one line each.
func (r *Verification) Text(w io.Writer) {
	fmt.Fprintf(w, "%s (%s): signed by %s\n", r.Ref, r.Digest, r.who)
	for _, s := range r.Statements {
		fmt.Fprintf(w, "  verified %s  %s\n", s.PredicateType, s.Ref)
	}
	for _, x := range r.Rejected {
		fmt.Fprintf(w, "  rejected %s: %s\n", x.Ref, x.Reason)
	}
	if u := r.UpgradeTest; u != nil {
		fmt.Fprintf(w, "  upgrade test passed: %s %s from %s on Kubernetes %s\n", u.Chart, u.Version, strings.Join(u.From, ", "), u.KubernetesVersion)
	}
}

// statements lists the sigstore bundles among subject's referrers and verifies
// each.
func (v *Verifier) statements(ctx context.Context, st Store, chart string, subject ocispec.Descriptor) (found, error) {
	refs, err := st.Referrers(ctx, chart, subject, BundleMediaType)
	if err != nil {
		return found{}, err
	}
	return v.check(ctx, st, chart, subject, refs)
}

// ofType keeps the referrers that may hold a statement of predicateType: those
// whose listing names that predicate type (AnnotationPredicateType, as
// chartship and cosign write it) or none. The annotation only saves reading
// the others; what counts is the verified statement.
func ofType(refs []ocispec.Descriptor, predicateType string) []ocispec.Descriptor {
	var out []ocispec.Descriptor
	for _, d := range refs {
		if pt, ok := d.Annotations[AnnotationPredicateType]; !ok || pt == predicateType {
			out = append(out, d)
		}
	}
	return out
}

func (v *Verifier) check(ctx context.Context, st Store, chart string, subject ocispec.Descriptor, refs []ocispec.Descriptor) (found, error) {
	var f found
	for _, d := range refs {
		if d.ArtifactType != BundleMediaType {
			continue
		}
		ref := st.Reference(chart, d.Digest)
		m, data, err := st.FetchReferrer(ctx, chart, d)
		if err != nil {
			return f, err
		}
		pt := m.Annotations[AnnotationPredicateType]
		s, err := v.verifyBundle(data, subject)
		if err != nil {
			f.rejected = append(f.rejected, Rejected{Ref: ref, PredicateType: pt, Reason: err.Error()})
			continue
		}
		s.Ref = ref
		f.statements = append(f.statements, s)
	}
	return f, nil
}

// verifyBundle verifies one bundle against the subject's digest.
func (v *Verifier) verifyBundle(data []byte, subject ocispec.Descriptor) (Statement, error) {
	var b sgbundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		return Statement{}, fmt.Errorf("not a sigstore bundle: %w", err)
	}
	sv, err := verify.NewVerifier(v.trusted, v.vopts...)
	if err != nil {
		return Statement{}, err
	}
	sum, err := hex.DecodeString(subject.Digest.Encoded())
	if err != nil {
		return Statement{}, err
	}
	res, err := sv.Verify(&b, verify.NewPolicy(verify.WithArtifactDigest(subject.Digest.Algorithm().String(), sum), v.identity...))
	if err != nil {
		return Statement{}, fmt.Errorf("does not verify with %s: %w", v.who, err)
	}
	if res.Statement == nil {
		return Statement{}, errors.New("holds no in-toto statement")
	}
	pred := json.RawMessage(`{}`)
	if res.Statement.Predicate != nil {
		if pred, err = protojson.Marshal(res.Statement.Predicate); err != nil {
			return Statement{}, err
		}
	}
	return Statement{PredicateType: res.Statement.PredicateType, Predicate: compact(pred)}, nil
}

// readBack lists subject's referrers once and verifies each pushed bundle
// (referrer → the statement it must hold) as the registry serves it.
func (v *Verifier) readBack(ctx context.Context, st Store, chart string, subject ocispec.Descriptor, pushed map[string]Predicate) error {
	refs, err := st.Referrers(ctx, chart, subject, BundleMediaType)
	if err != nil {
		return err
	}
	listed := map[string]ocispec.Descriptor{}
	for _, d := range refs {
		listed[st.Reference(chart, d.Digest)] = d
	}
	for ref, p := range pushed {
		d, ok := listed[ref]
		if !ok {
			return errdef.Check(fmt.Errorf("the %s pushed to %s does not verify: the registry does not list it among the chart's referrers (run again to add it)", describe(p.Type), ref))
		}
		_, data, err := st.FetchReferrer(ctx, chart, d)
		if err != nil {
			return err
		}
		got, err := v.verifyBundle(data, subject)
		if err == nil {
			got.Ref = ref
			if (found{statements: []Statement{got}}).find(p) != "" {
				continue
			}
			err = fmt.Errorf("it holds %s, not the statement signed", got.PredicateType)
		}
		return errdef.Check(fmt.Errorf("the %s pushed to %s does not verify: %v", describe(p.Type), ref, err))
	}
	return nil
}
