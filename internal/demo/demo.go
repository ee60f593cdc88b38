// Package demo runs a whole chartship release on this machine with nothing to
// set up: it starts an OCI registry in-process, creates a git-hosted Helm
// catalog and a GitOps repository as bare git repositories, makes an app
// repository around the sample chart, and releases it twice (v1.0.0, then
// v1.1.0, upgrade-tested from 1.0.0) into a cluster it is given.
package demo

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/gitops"
	"github.com/chartship/chartship/internal/errdef"
	gitcli "github.com/chartship/chartship/internal/git"
	"github.com/chartship/chartship/internal/localregistry"
	"github.com/chartship/chartship/internal/logging"
	"github.com/chartship/chartship/release"
	"github.com/chartship/chartship/upgradetest"
)

// Options configure the demo.
type Options struct {
	ChartDir string               // the sample chart to release
	WorkDir  string               // everything the demo makes goes here; emptied first
	Cluster  *upgradetest.Cluster // where the upgrade test runs
	Values   []string             // values files for the upgrade test (default: the chart's ci/*-values.yaml)
	Logger   *slog.Logger
}

// Result is what the demo made.
type Result struct {
	Registry  string            `json:"registry"`  // the OCI namespace charts went to
	Catalog   string            `json:"catalog"`   // the git catalog
	GitOps    string            `json:"gitops"`    // the GitOps repository
	Releases  []*release.Result `json:"releases"`  // one per tag released
	Tags      []string          `json:"tags"`      // versions in the registry at the end
	IndexYAML string            `json:"indexYAML"` // the git catalog's index.yaml at the end
	GitOpsLog string            `json:"gitopsLog"` // the GitOps repository's history at the end
	AppCR     string            `json:"appCR"`     // the App CR as it was bumped
}

const gitopsApp = `# The App runs in a workload cluster; Flux moves it within its ImagePolicy.
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: {name: hello, namespace: flux-system}
spec:
  imageRepositoryRef: {name: hello}
  policy: {semver: {range: '>=1.0.0 <2.0.0'}}
---
apiVersion: application.giantswarm.io/v1alpha1
kind: App
metadata:
  name: hello
  namespace: org-demo
spec:
  catalog: demo-catalog
  name: hello
  version: 0.9.0 # {"$imagepolicy": "flux-system:hello:tag"}
`

// Run runs the demo.
func Run(ctx context.Context, opts Options) (*Result, error) {
	log := logging.OrDiscard(opts.Logger)
	if _, err := os.Stat(filepath.Join(opts.ChartDir, "Chart.yaml")); err != nil {
		return nil, errdef.Usage(fmt.Errorf("demo chart %s: %w; run the demo from the chartship repository (make demo)", opts.ChartDir, err))
	}
	work, err := filepath.Abs(opts.WorkDir)
	if err != nil {
		return nil, errdef.Usage(err)
	}
	if err := os.RemoveAll(work); err != nil {
		return nil, errdef.Usage(fmt.Errorf("emptying %s: %w", work, err))
	}

	reg, err := localregistry.Start("127.0.0.1:0", localregistry.Options{RootDir: filepath.Join(work, "registry")})
	if err != nil {
		return nil, errdef.External(err)
	}
	defer reg.Close()
	res := &Result{
		Registry: reg.Ref("charts"),
		Catalog:  "git+file://" + filepath.Join(work, "catalog.git"),
		GitOps:   "file://" + filepath.Join(work, "gitops.git"),
	}
	log.Info("started an OCI registry", "ref", res.Registry)

	g := gitRunner{ctx: ctx, env: []string{
		"GIT_AUTHOR_NAME=chartship demo", "GIT_AUTHOR_EMAIL=demo@chartship.invalid",
		"GIT_COMMITTER_NAME=chartship demo", "GIT_COMMITTER_EMAIL=demo@chartship.invalid"}}
	for _, bare := range []string{"catalog.git", "gitops.git"} {
		if err := g.run("", "init", "--quiet", "--bare", "--initial-branch=main", filepath.Join(work, bare)); err != nil {
			return nil, err
		}
	}
	seed := filepath.Join(work, "gitops-seed")
	if err := g.seed(seed, res.GitOps, map[string]string{"clusters/demo/hello.yaml": gitopsApp, "README.md": "# GitOps repository of the demo\n"}); err != nil {
		return nil, err
	}
	if err := g.seed(filepath.Join(work, "catalog-seed"), res.Catalog[len("git+"):], map[string]string{"README.md": "# Helm catalog of the demo\n"}); err != nil {
		return nil, err
	}
	log.Info("created a git catalog and a GitOps repository", "catalog", res.Catalog, "gitops", res.GitOps)

	// The app repository: the sample chart under helm/, released by tags.
	app := filepath.Join(work, "hello")
	if err := os.CopyFS(filepath.Join(app, "helm", "hello"), os.DirFS(opts.ChartDir)); err != nil {
		return nil, errdef.Usage(fmt.Errorf("copying the demo chart: %w", err))
	}
	cfg := fmt.Sprintf("catalogs:\n  - name: oci\n    oci: %s\n  - name: catalog\n    git: %s\n    indexURL: https://demo.example/catalog/\n", res.Registry, res.Catalog)
	if err := os.WriteFile(filepath.Join(app, catalog.ConfigFile), []byte(cfg), 0o644); err != nil {
		return nil, errdef.Usage(err)
	}
	if err := g.run(app, "init", "--quiet", "--initial-branch=main"); err != nil {
		return nil, err
	}
	config, err := catalog.LoadConfig(app)
	if err != nil {
		return nil, err
	}
	copts := catalog.DefaultOptions()
	copts.Logger, copts.OCI.PlainHTTP = log, true
	// The same plan as `chartship release` makes: both catalogs are release
	// catalogs; the from-versions and the versions Flux chooses from come from
	// the first, the OCI registry (release.Routing).
	relOpts := release.Options{
		Package:  chart.BuildOptions{Destination: filepath.Join(work, "build"), Logger: log},
		Routing:  release.Routing{Config: config},
		Catalogs: copts,
		Test:     &release.TestOptions{Cluster: opts.Cluster, Upgrade: upgradetest.Options{Values: opts.Values, Timeout: defaultTimeout, Logger: log}},
		Bump:     &release.BumpOptions{Repos: []string{res.GitOps}, Apply: bumpApply(log)},
		Logger:   log,
	}
	oci, err := config.Open("oci", copts)
	if err != nil {
		return nil, err
	}

	for i, tag := range []string{"v1.0.0", "v1.1.0"} {
		if i > 0 {
			// A change worth releasing: a new greeting.
			values := filepath.Join(app, "helm", "hello", "values.yaml")
			if err := appendLine(values, "# "+tag+": a friendlier greeting"); err != nil {
				return nil, err
			}
		}
		if err := g.run(app, "add", "-A"); err != nil {
			return nil, err
		}
		if err := g.run(app, "commit", "--quiet", "-m", "release "+tag); err != nil {
			return nil, err
		}
		if err := g.run(app, "tag", tag); err != nil {
			return nil, err
		}
		log.Info("releasing", "tag", tag)
		r, err := release.Run(ctx, app, relOpts)
		res.Releases = append(res.Releases, r)
		if err != nil {
			return res, err
		}
	}

	if res.Tags, err = oci.Versions(ctx, "hello"); err != nil {
		return res, err
	}
	if res.IndexYAML, err = g.output(filepath.Join(work, "catalog.git"), "show", "main:index.yaml"); err != nil {
		return res, err
	}
	if res.GitOpsLog, err = g.output(filepath.Join(work, "gitops.git"), "log", "--format=%h %s", "main"); err != nil {
		return res, err
	}
	if res.AppCR, err = g.output(filepath.Join(work, "gitops.git"), "show", "main:clusters/demo/hello.yaml"); err != nil {
		return res, err
	}
	return res, nil
}

const defaultTimeout = 3 * time.Minute

// bumpApply pushes bumps straight to the GitOps repository's main branch.
func bumpApply(log *slog.Logger) gitops.BumpOptions {
	o := gitops.DefaultBumpOptions()
	o.PushTo, o.Logger = "main", log
	return o
}

// gitRunner runs git (internal/git) in a directory as the demo's author.
type gitRunner struct {
	ctx context.Context
	env []string
}

func (g gitRunner) run(dir string, args ...string) error {
	_, err := g.output(dir, args...)
	return err
}

func (g gitRunner) output(dir string, args ...string) (string, error) {
	out, err := (&gitcli.Repo{Dir: dir, Env: g.env}).Run(g.ctx, args...)
	return out, errdef.External(err)
}

// seed makes the first commit of the bare repository at url from files.
func (g gitRunner) seed(dir, url string, files map[string]string) error {
	if err := g.run("", "clone", "--quiet", url, dir); err != nil {
		return err
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	for _, args := range [][]string{{"checkout", "--quiet", "-B", "main"}, {"add", "-A"}, {"commit", "--quiet", "-m", "start"}, {"push", "--quiet", "origin", "main"}} {
		if err := g.run(dir, args...); err != nil {
			return err
		}
	}
	return os.RemoveAll(dir)
}

func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, fs.ModePerm)
	if err != nil {
		return errdef.Usage(err)
	}
	if _, err := f.WriteString(line + "\n"); err != nil {
		f.Close()
		return errdef.Usage(err)
	}
	return f.Close()
}
