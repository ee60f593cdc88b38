// Package gitops bumps a released chart version in downstream GitOps
// repositories the way Flux's image automation would, but at once and as a
// reviewable change:
//
//   - PlanDir finds every reference to a chart in a tree of YAML files — App CRs
//     (spec.version), HelmReleases (spec.chart.spec.version), OCIRepositories
//     (spec.ref.tag; spec.ref.semver is listed) and any scalar with a
//     `# {"$imagepolicy": "NS:NAME[:tag]"}` setter, also in inline kustomize
//     patches — and decides each new value with its ImagePolicy (Flux's exact
//     semantics: Policy.Latest) or a default rule (DefaultPolicy). The Plan is
//     data: Changes (file:line, old → new, policy), references Left alone and
//     why, and Problems (bad input, per file and line; such files get no edits).
//   - The rewrite splices only the scalar's bytes; everything else in the file
//     stays identical (comments, quoting, indentation, block scalars, ---, CRLF).
//   - Bump applies a plan to a repository (local path or git URL): commit on a
//     branch and push it, opening or updating one GitHub pull request per chart,
//     or push straight to a branch.
//   - Notify calls a Flux Receiver webhook (generic-hmac or generic).
package gitops
