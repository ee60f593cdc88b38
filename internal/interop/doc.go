// Package interop holds only tests: what chartship writes, read by the real
// peer tools users run — the Helm 4 CLI (pull, show, template, verify of OCI
// pushes and git catalogs; helm push as the source of an upgrade test lives in
// upgradetest) and the cosign CLI (verify, verify-attestation; and chartship's
// verify of what cosign signed). The tools are built from the Go module proxy
// in throwaway modules and cached (internal/peertools).
package interop
