package gitops

import (
	"context"
	"path"
	"sort"
	"strings"
)

// FleetVersion is one version of a chart the fleet runs, and where.
type FleetVersion struct {
	Version  string   `json:"version"`  // as semver prints it: no "v", "+" for "_"
	Clusters []string `json:"clusters"` // "REPO: cluster path", sorted
}

// FleetVersions lists every distinct version of req.Chart the fleet
// repositories run: pinned App CRs, HelmReleases and OCIRepository tags, the
// values behind $imagepolicy markers, and what each commit-less stage
// (OCIRepository semver, HelmRelease range) resolves to now among
// req.Available — each with the clusters (file directories) that run it,
// highest version first. req.Version is the version about to be released
// (it is not counted as run); nothing is written. The plans are returned too,
// for their problems.
func FleetVersions(ctx context.Context, repos []string, req Request, opts BumpOptions) ([]FleetVersion, []*Result, error) {
	req.Policy = PolicyNone
	opts.DryRun = true
	results, errs := BumpAll(ctx, repos, req, opts, 0)
	var firstErr error
	for _, err := range errs {
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	byVersion := map[string]map[string]bool{}
	releasing := ociTagVersion(req.Version)
	add := func(repo, file, value string) {
		v, ok := runningVersion(value)
		if !ok || v == releasing {
			return
		}
		if byVersion[v] == nil {
			byVersion[v] = map[string]bool{}
		}
		byVersion[v][repo+": "+path.Dir(file)] = true
	}
	for _, r := range results {
		if r == nil || r.Plan == nil {
			continue
		}
		for _, c := range r.Plan.Changes {
			add(r.Repo, c.File, c.Old)
		}
		for _, l := range r.Plan.Left {
			add(r.Repo, l.File, l.Value)
		}
		for _, st := range r.Plan.Stages {
			add(r.Repo, st.File, st.Now)
		}
	}
	out := make([]FleetVersion, 0, len(byVersion))
	for v, cs := range byVersion {
		fv := FleetVersion{Version: v}
		for c := range cs {
			fv.Clusters = append(fv.Clusters, c)
		}
		sort.Strings(fv.Clusters)
		out = append(out, fv)
	}
	sort.Slice(out, func(i, j int) bool {
		a, _ := parseFluxVersion(out[i].Version)
		b, _ := parseFluxVersion(out[j].Version)
		return a.GreaterThan(b)
	})
	return out, results, firstErr
}

// runningVersion reads the version out of a reference's value: a version, a
// tag, or an image reference NAME:TAG[@DIGEST]. Ranges, digests, "latest"
// and substitutions are no version.
func runningVersion(value string) (string, bool) {
	if i := strings.IndexByte(value, '@'); i >= 0 {
		value = value[:i]
	}
	if i := strings.LastIndexByte(value, ':'); i >= 0 && i > strings.LastIndexByte(value, '/') {
		value = value[i+1:]
	}
	v, err := parseFluxVersion(strings.ReplaceAll(value, "_", "+"))
	if err != nil {
		return "", false
	}
	return v.String(), true
}

func ociTagVersion(v string) string {
	s, ok := runningVersion(v)
	if !ok {
		return v
	}
	return s
}
