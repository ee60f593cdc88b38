// Package chart turns a chart directory into a release artifact and reads it
// back: Build resolves the version from git (ResolveVersion), checks the chart
// (name, dependencies, Helm lint, values.schema.json) and writes a reproducible
// .tgz, optionally signed; Open reads a packaged chart. Errors are classified
// with internal/errdef: bad input is errdef.ErrUsage, a failed lint or schema
// check errdef.ErrCheck, an unreachable repository or git remote
// errdef.ErrExternal.
package chart
