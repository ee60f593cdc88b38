# scripts/lib/tools.bash — the third-party CLIs the interop tests run (source it after
# gobuild.bash): the Helm 4 CLI and cosign, each built from the Go module proxy in a
# throwaway module (never chartship's go.mod) and cached by version. Keep the versions in
# step with internal/peertools.
HELM4_VERSION=4.3.1
COSIGN_VERSION=3.1.3

# tools_helm4 — build (or reuse) the Helm 4 CLI; prints its path.
tools_helm4() {
	gb_module "$CHARTSHIP_CACHE/bin/helm-$HELM4_VERSION" helm "helm.sh/helm/v4@v$HELM4_VERSION" "" \
		"-X helm.sh/helm/v4/internal/version.version=v$HELM4_VERSION" helm.sh/helm/v4/cmd/helm
	echo "$CHARTSHIP_CACHE/bin/helm-$HELM4_VERSION/helm"
}

# tools_cosign — build (or reuse) the cosign CLI; prints its path.
tools_cosign() {
	gb_module "$CHARTSHIP_CACHE/bin/cosign-$COSIGN_VERSION" cosign "github.com/sigstore/cosign/v3@v$COSIGN_VERSION" "" \
		"-X sigs.k8s.io/release-utils/version.gitVersion=v$COSIGN_VERSION" github.com/sigstore/cosign/v3/cmd/cosign
	echo "$CHARTSHIP_CACHE/bin/cosign-$COSIGN_VERSION/cosign"
}
