package chart

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/chartship/chartship/internal/errdef"
)

// ChartPlaceholder in a tag prefix stands for the chart's name: "{chart}/v"
// makes hello's release tags hello/v1.2.0 in a monorepo.
const ChartPlaceholder = "{chart}"

// tagPrefixFor fills the chart's name into a tag prefix.
func tagPrefixFor(prefix, chartDir string) (string, error) {
	if !strings.Contains(prefix, ChartPlaceholder) {
		return prefix, nil
	}
	meta, err := readChartfile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return "", err
	}
	return strings.ReplaceAll(prefix, ChartPlaceholder, meta.Name), nil
}

// ChartDirs lists the charts of a repository laid out as monorepos are: every
// helm/<chart>/ and charts/<chart>/ holding a Chart.yaml under root, sorted; or
// root itself when it is a chart.
func ChartDirs(root string) ([]string, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, errdef.Usage(err)
	}
	if _, err := os.Stat(filepath.Join(abs, "Chart.yaml")); err == nil {
		return []string{abs}, nil
	}
	var out []string
	for _, parent := range []string{"helm", "charts"} {
		m, _ := filepath.Glob(filepath.Join(abs, parent, "*", "Chart.yaml"))
		for _, f := range m {
			out = append(out, filepath.Dir(f))
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil, errdef.Usage(fmt.Errorf("%s holds no chart (no Chart.yaml in it, under helm/*/ or charts/*/)", root))
	}
	return out, nil
}

// ChangedOptions say what "changed" is measured against.
type ChangedOptions struct {
	// Since is a git revision to compare with; "" means each chart's last
	// release tag (TagPrefix, with {chart} filled in), and a chart without one
	// counts as changed.
	Since     string
	TagPrefix string
}

// Changed lists the charts of the repository at root (see ChartDirs) whose
// files changed between opts.Since (or their last release tag) and HEAD,
// committed or not — what `ct list-changed` answers.
func Changed(ctx context.Context, root string, opts ChangedOptions) ([]string, error) {
	dirs, err := ChartDirs(root)
	if err != nil {
		return nil, err
	}
	g, err := openGit(ctx, root)
	if err != nil {
		return nil, err
	}
	if opts.TagPrefix == "" {
		opts.TagPrefix = DefaultTagPrefix
	}
	var out []string
	for _, dir := range dirs {
		base := opts.Since
		if base == "" {
			prefix, err := tagPrefixFor(opts.TagPrefix, dir)
			if err != nil {
				return nil, err
			}
			last, err := g.lastReleaseTag(ctx, prefix)
			if err != nil {
				return nil, err
			}
			if last == nil { // never released
				out = append(out, dir)
				continue
			}
			base = last.name
		}
		diff, err := g.run(ctx, "diff", "--name-only", base, "--", dir)
		if err != nil {
			return nil, errdef.Usage(fmt.Errorf("comparing %s with %s: %w; give --since a revision that exists (fetch tags in a shallow clone)", dir, base, err))
		}
		untracked, err := g.run(ctx, "ls-files", "--others", "--exclude-standard", "--", dir)
		if err != nil {
			return nil, errdef.Usage(err)
		}
		if strings.TrimSpace(diff+untracked) != "" {
			out = append(out, dir)
		}
	}
	return out, nil
}
