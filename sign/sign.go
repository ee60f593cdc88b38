// Package sign signs charts in OCI registries the way cosign v3 does and
// verifies such signatures, with sigstore's own libraries (sigstore-go): every
// signature is a sigstore bundle (v0.3) holding a DSSE envelope over an in-toto
// statement whose subject is the chart manifest's digest, stored as an OCI 1.1
// referrer of that manifest (the referrers API, or the tag-schema fallback
// sha256-<hex> on registries without it). The plain signature's predicate type
// is cosign's own (SignPredicateType), so `cosign verify` accepts it; an
// attestation carries another predicate type (UpgradeTestPredicateType for the
// upgrade test), so `cosign verify-attestation --type` accepts it.
//
// Keys are cosign's: the encrypted key `cosign generate-key-pair` writes, its
// password from COSIGN_PASSWORD; or keyless, a Fulcio certificate for an OIDC
// token with a Rekor entry. Signing is idempotent: a signature (or the same
// attestation) that already verifies is not added again.
package sign

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/logging"
)

// What the referrers and bundles carry, as cosign v3 writes them.
const (
	// BundleMediaType is the artifactType and layer media type of a signature
	// or attestation referrer.
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// SignPredicateType is the predicate of a plain signature (`cosign sign`).
	SignPredicateType = "https://sigstore.dev/cosign/sign/v1"
	// AnnotationPredicateType on a referrer manifest names its statement's
	// predicate type, so a verifier can pick bundles without reading them.
	AnnotationPredicateType = "dev.sigstore.bundle.predicateType"
	annotationContent       = "dev.sigstore.bundle.content"
	intotoPayloadType       = "application/vnd.in-toto+json"
)

// Options configure signing; exactly one of Key and Keyless. The zero value
// signs nothing (Enabled is false).
type Options struct {
	// Key is cosign's encrypted private key file (cosign.key).
	Key string
	// Password decrypts Key (COSIGN_PASSWORD); never logged.
	Password string
	// Keyless signs with a short-lived Fulcio certificate for an OIDC token,
	// logged in Rekor.
	Keyless *KeylessOptions
	Logger  *slog.Logger
}

// Enabled reports whether o asks for signing at all.
func (o Options) Enabled() bool { return o.Key != "" || o.Keyless != nil }

// Validate reports options that contradict each other.
func (o Options) Validate() error {
	if o.Key != "" && o.Keyless != nil {
		return errdef.Usage(errors.New("give --cosign-key or --cosign-keyless, not both"))
	}
	if o.Keyless != nil {
		return o.Keyless.Validate()
	}
	return nil
}

// Predicate is an attestation to sign: an in-toto predicate type and its JSON
// document.
type Predicate struct {
	Type string
	Data json.RawMessage
}

// Statuses of a Signature.
const (
	Signed        = "signed"
	AlreadySigned = "already signed"
)

// Signature is one signed statement about a chart (catalog.Signature).
type Signature = catalog.Signature

// Signer signs charts in OCI registries.
type Signer struct {
	keypair  sgsign.Keypair
	opts     sgsign.BundleOptions
	keyless  *KeylessOptions
	verifier *Verifier // checks what was pushed, and what is there already
	// mu guards verifier while keyless signing sets it up on the first Sign
	// (publish.Run signs its OCI targets in parallel with one Signer).
	mu  sync.Mutex
	log *slog.Logger
}

// New reads the key (or checks the OIDC token) before anything is pushed, so
// a wrong password or an expired token fails the run up front.
func New(o Options) (*Signer, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if !o.Enabled() {
		return nil, errdef.Usage(errors.New("signing needs --cosign-key or --cosign-keyless"))
	}
	s := &Signer{log: logging.OrDiscard(o.Logger)}
	if o.Keyless != nil {
		if err := s.keylessSetup(o.Keyless); err != nil {
			return nil, err
		}
		return s, nil
	}
	kp, err := loadPrivateKey(o.Key, []byte(o.Password))
	if err != nil {
		return nil, err
	}
	s.keypair = kp
	s.verifier, err = newKeyVerifier(kp.sv)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Sign makes sure the chart chart:version in st carries a signature by this
// signer and each of the attestations: what verifies already is left alone,
// the rest is signed and pushed as referrers, which are then read back from
// the registry and verified. A pushed bundle that doesn't verify fails with a
// check error (exit 2); a re-run adds what is missing.
func (s *Signer) Sign(ctx context.Context, st Store, chart, version string, attestations ...Predicate) ([]Signature, error) {
	subject, err := st.Subject(ctx, chart, version)
	if err != nil {
		return nil, fmt.Errorf("signing %s:%s in %s: %w", chart, version, st, err)
	}
	if s.keyless != nil {
		if err := s.keylessIdentity(ctx); err != nil {
			return nil, err
		}
	}
	have, err := s.verifier.statements(ctx, st, chart, subject)
	if err != nil {
		return nil, err
	}
	want := append([]Predicate{{Type: SignPredicateType, Data: json.RawMessage(`{}`)}}, attestations...)
	out := make([]Signature, 0, len(want))
	pushed := map[string]Predicate{} // referrer → what it should say
	for _, p := range want {
		if ref := have.find(p); ref != "" {
			out = append(out, Signature{PredicateType: p.Type, Ref: ref, Status: AlreadySigned})
			s.log.Debug("already signed", "chart", chart, "version", version, "predicateType", p.Type, "ref", ref)
			continue
		}
		ref, err := s.push(ctx, st, chart, subject, p)
		if err != nil {
			return out, err
		}
		pushed[ref] = p
		out = append(out, Signature{PredicateType: p.Type, Ref: ref, Status: Signed})
	}
	if len(pushed) == 0 {
		return out, nil
	}
	// Verified right after the push: read back what the registry serves.
	if err := s.verifier.readBack(ctx, st, chart, subject, pushed); err != nil {
		return out, err
	}
	for _, sig := range out {
		if sig.Status == Signed {
			s.log.Info("signed", "chart", chart, "version", version, "predicateType", sig.PredicateType, "ref", sig.Ref)
		}
	}
	return out, nil
}

// push signs one statement about subject and pushes its bundle as a referrer.
func (s *Signer) push(ctx context.Context, st Store, chart string, subject ocispec.Descriptor, p Predicate) (string, error) {
	payload, err := statement(subject.Digest, p)
	if err != nil {
		return "", err
	}
	opts := s.opts
	opts.Context = ctx
	b, err := sgsign.Bundle(&sgsign.DSSEData{Data: payload, PayloadType: intotoPayloadType}, s.keypair, opts)
	if err != nil {
		return "", s.signError(err)
	}
	data, err := protojson.Marshal(b)
	if err != nil {
		return "", fmt.Errorf("encoding the sigstore bundle: %w", err)
	}
	d, err := st.Attach(ctx, chart, subject, catalog.Attachment{
		Name: "sigstore-bundle.json", MediaType: BundleMediaType, Data: data,
		Annotations: map[string]string{annotationContent: "dsse-envelope", AnnotationPredicateType: p.Type},
	})
	if err != nil {
		return "", fmt.Errorf("%s@%s is pushed, but storing its %s as a referrer failed (run again to add it; a registry that refuses OCI 1.1 manifests with a subject can't hold sigstore bundles): %w", chart, subject.Digest, describe(p.Type), err)
	}
	return st.Reference(chart, d), nil
}

func describe(predicateType string) string {
	if predicateType == SignPredicateType {
		return "signature"
	}
	return "attestation " + predicateType
}

// statement is the in-toto statement (JSON) about the manifest digest, as
// cosign writes it.
func statement(d digest.Digest, p Predicate) ([]byte, error) {
	var pred structpb.Struct
	if err := protojson.Unmarshal(p.Data, &pred); err != nil {
		return nil, fmt.Errorf("predicate %s is not a JSON object: %w", p.Type, err)
	}
	st := &intoto.Statement{
		Type:          intoto.StatementTypeUri,
		Subject:       []*intoto.ResourceDescriptor{{Digest: map[string]string{d.Algorithm().String(): d.Encoded()}}},
		PredicateType: p.Type,
		Predicate:     &pred,
	}
	return protojson.Marshal(st)
}

// found is what verified among a chart's referrers.
type found struct {
	statements []Statement
	rejected   []Rejected
}

// find returns the referrer of a verified statement with p's type and an equal
// predicate, or "".
func (f found) find(p Predicate) string {
	var want any
	if err := json.Unmarshal(p.Data, &want); err != nil {
		return ""
	}
	for _, s := range f.statements {
		if s.PredicateType != p.Type {
			continue
		}
		var got any
		if json.Unmarshal(s.Predicate, &got) == nil && reflect.DeepEqual(got, want) {
			return s.Ref
		}
	}
	return ""
}

func (s *Signer) signError(err error) error {
	if s.keyless != nil {
		return s.keylessError(err)
	}
	return errdef.External(fmt.Errorf("signing failed: %w", err))
}

// compact re-encodes JSON without insignificant space (for messages and
// comparisons).
func compact(b []byte) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}
