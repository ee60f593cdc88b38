package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/chartship/chartship/chart"
	"github.com/chartship/chartship/internal/errdef"
)

// packageResult is what `chartship package` prints.
type packageResult struct {
	Name       string `json:"name"`
	Version    string `json:"version"`
	AppVersion string `json:"appVersion"`
	Path       string `json:"path"`
	Digest     string `json:"digest"`
	Provenance string `json:"provenance,omitempty"`

	versionSource chart.VersionSource
	tag           string
}

// skippedResult is what a command prints when there is nothing to do (a
// commit on a nobuild/… branch); the exit code is 0.
type skippedResult struct {
	Skipped string `json:"skipped"`
}

func packageCommand() *cli.Command {
	return &cli.Command{
		Name:      "package",
		Usage:     "build a reproducible chart archive (.tgz) versioned from git tags",
		ArgsUsage: "[CHART_DIR]",
		Description: `Packages the chart in CHART_DIR (default: the current directory, or the single
chart under its helm/ directory). The version comes from git: HEAD's tag v1.2.3
gives 1.2.3, any other commit a dev pre-release 1.2.4-r<crc32 of the branch>t<time>h<sha>
(--dev-schema legacy: 1.2.4-dev.<branch>.<time>.h<sha>); a commit on a nobuild/…
branch that is on no tag builds nothing and exits 0.
Dependencies are built, the chart is linted and its values checked against
values.schema.json. The same source and version always give the same bytes.

Example:
  chartship package --catalog-base-url https://example.github.io/catalog/ -o json`,
		Flags:  packageFlags(),
		Action: runPackage,
	}
}

// packageFlags are the flags that say how a chart is packaged.
func packageFlags() []cli.Flag {
	return append(monorepoFlags(), []cli.Flag{
		&cli.StringFlag{Name: "version", Usage: "chart version to stamp instead of the one from git (no git repository needed)"},
		&cli.BoolFlag{Name: "allow-build-metadata", Usage: "accept a version with +build metadata (breaks OCI tags and Flux)"},
		&cli.StringFlag{Name: "branch", Usage: "branch named in dev versions (default: git's current branch)", Sources: cli.EnvVars("CIRCLE_BRANCH")},
		&cli.StringFlag{Name: "dev-schema", Usage: "dev build versions: rfc (X.Y.Z-r<crc32>t<time>h<sha>, the default) or legacy (X.Y.Z-dev.<branch>.<time>.h<sha>); default: .chartship.yaml devSchema"},
		&cli.StringFlag{Name: "remote", Value: chart.DefaultRemote, Usage: "git remote to fetch tags from when the clone is shallow"},
		&cli.BoolFlag{Name: "allow-dirty", Usage: "package a release (HEAD on a release tag) although the chart has uncommitted changes"},
		&cli.BoolFlag{Name: "no-fetch", Usage: "never fetch tags into a shallow clone: fail with the git command to run"},
		&cli.StringFlag{Name: "app-version", Usage: "appVersion to stamp; \"chart\" copies the chart version (default: keep Chart.yaml's)"},
		&cli.StringFlag{Name: "repo-name", Usage: "repository name the chart name must match (default: the git work tree's directory name)", Sources: cli.EnvVars("CIRCLE_PROJECT_REPONAME", "GITHUB_REPOSITORY")},
		&cli.BoolFlag{Name: "allow-name-mismatch", Usage: "package even if the chart is not named after its repository"},
		&cli.BoolFlag{Name: "plain-http", Usage: "use HTTP, not HTTPS, for oci:// dependency registries"},
		&cli.BoolFlag{Name: "strict", Usage: "fail on lint warnings too"},
		&cli.StringFlag{Name: "kube-version", Usage: "Kubernetes version templates are linted against (default: Helm's)"},
		&cli.StringFlag{Name: "catalog-base-url", Usage: "stamp app catalog annotations pointing at URL<chart>-<version>.tgz-meta/"},
		&cli.BoolFlag{Name: "sign", Usage: "write a provenance file (.tgz.prov) like helm package --sign"},
		&cli.StringFlag{Name: "key", Usage: "name of the signing key in --keyring"},
		&cli.StringFlag{Name: "keyring", Value: defaultKeyring(), Usage: "secret keyring holding --key"},
		&cli.StringFlag{Name: "passphrase-file", Usage: "file whose first line unlocks --key"},
		&cli.StringFlag{Name: "destination", Aliases: []string{"d"}, Value: chart.DefaultDestination, Usage: "directory to write the archive to"},
		&cli.Int64Flag{Name: "source-date-epoch", Usage: "Unix time for every file in the archive (default: HEAD's commit time)", Sources: cli.EnvVars("SOURCE_DATE_EPOCH")},
	}...)
}

func runPackage(ctx context.Context, cmd *cli.Command) error {
	if cmd.Args().Len() > 1 {
		return errdef.Usage(fmt.Errorf("package takes one chart directory, got %d arguments: %v", cmd.Args().Len(), cmd.Args().Slice()))
	}
	dir := cmd.Args().First()
	if dir == "" {
		dir = "."
	}
	if err := checkSince(cmd); err != nil {
		return err
	}
	opts, err := packageOptions(cmd)
	if err != nil {
		return err
	}
	if cmd.Bool("changed") {
		dirs, err := changedCharts(ctx, cmd, dir)
		if err != nil {
			return err
		}
		outs := []packageResult{}
		var errs []error
		for _, d := range dirs {
			out, err := packageOne(ctx, d, opts)
			if errors.Is(err, chart.ErrNoBuild) {
				logger(cmd).Info("skipped", "chart", d, "reason", err)
				continue
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", d, err))
				continue
			}
			outs = append(outs, out)
		}
		if err := render(cmd, outs, func(w io.Writer) {
			for _, out := range outs {
				printPackage(w, out)
			}
		}); err != nil {
			return err
		}
		return errdef.Join(errs...)
	}
	out, err := packageOne(ctx, dir, opts)
	if errors.Is(err, chart.ErrNoBuild) {
		return render(cmd, skippedResult{Skipped: err.Error()}, func(w io.Writer) { fmt.Fprintf(w, "Skipped: %s\n", err) })
	}
	if err != nil {
		return err
	}
	return render(cmd, out, func(w io.Writer) { printPackage(w, out) })
}

func packageOne(ctx context.Context, dir string, opts chart.BuildOptions) (packageResult, error) {
	res, err := chart.Build(ctx, dir, opts)
	if err != nil {
		return packageResult{}, err
	}
	p := res.Package
	return packageResult{
		Name:          p.Name(),
		Version:       p.Version(),
		AppVersion:    p.Metadata.AppVersion,
		Path:          p.Path,
		Digest:        p.Digest.String(),
		Provenance:    p.ProvPath,
		versionSource: res.Version.Source,
		tag:           res.Version.Tag,
	}, nil
}

func printPackage(w io.Writer, out packageResult) {
	from := string(out.versionSource)
	switch out.versionSource {
	case chart.VersionFromTag:
		from = "tag " + out.tag
	case chart.VersionFromDev:
		from = "dev build"
		if out.tag != "" {
			from += " after " + out.tag
		}
	case chart.VersionFromFlag:
		from = "--version"
	}
	fmt.Fprintf(w, "Packaged %s %s (version from %s)\n", out.Name, out.Version, from)
	fmt.Fprintf(w, "  path:   %s\n", out.Path)
	fmt.Fprintf(w, "  digest: %s\n", out.Digest)
	if out.Provenance != "" {
		fmt.Fprintf(w, "  signed: %s\n", out.Provenance)
	}
}

// packageOptions reads the package flags into build options.
func packageOptions(cmd *cli.Command) (chart.BuildOptions, error) {
	opts := chart.BuildOptions{
		Destination: cmd.String("destination"),
		Version: chart.VersionOptions{
			Version:            cmd.String("version"),
			TagPrefix:          cmd.String("tag-prefix"),
			AllowBuildMetadata: cmd.Bool("allow-build-metadata"),
			Branch:             cmd.String("branch"),
			Remote:             cmd.String("remote"),
			NoFetch:            cmd.Bool("no-fetch"),
			DevSchema:          chart.DevSchema(cmd.String("dev-schema")),
		},
		AppVersion: cmd.String("app-version"),
		AllowDirty: cmd.Bool("allow-dirty"),
		Name: chart.NameOptions{
			RepoName:      cmd.String("repo-name"),
			AllowMismatch: cmd.Bool("allow-name-mismatch"),
		},
		Dependencies:   chart.DependencyOptions{PlainHTTP: cmd.Bool("plain-http")},
		Lint:           chart.LintOptions{Strict: cmd.Bool("strict"), KubeVersion: cmd.String("kube-version")},
		CatalogBaseURL: cmd.String("catalog-base-url"),
		Logger:         logger(cmd),
	}
	if opts.Version.Branch == "" {
		// GitHub Actions checks out a detached HEAD; its branch is in these.
		opts.Version.Branch = firstEnv("GITHUB_HEAD_REF", "GITHUB_REF_NAME")
	}
	if cmd.IsSet("source-date-epoch") {
		sec := cmd.Int64("source-date-epoch")
		if sec < 0 {
			return opts, errdef.Usage(fmt.Errorf("--source-date-epoch (SOURCE_DATE_EPOCH) %d: use seconds since 1970", sec))
		}
		opts.SourceDate = time.Unix(sec, 0)
	}
	if cmd.Bool("sign") {
		if cmd.String("key") == "" {
			return opts, errdef.Usage(errors.New("--sign needs --key: the name of the signing key in --keyring"))
		}
		opts.Sign = chart.SignOptions{Key: cmd.String("key"), Keyring: cmd.String("keyring"), PassphraseFile: cmd.String("passphrase-file")}
	}

	return opts, nil
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// defaultKeyring is helm's default for --keyring.
func defaultKeyring() string {
	if v, ok := os.LookupEnv("GNUPGHOME"); ok {
		return filepath.Join(v, "pubring.gpg")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".gnupg", "pubring.gpg")
}
