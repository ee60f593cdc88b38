package release

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/chart"
)

// releaseCatalogs are the catalogs that hold releases of this plan: the
// upgrade test's from-catalog first, then the release catalogs it publishes to
// and those .chartship.yaml names, each once.
func (p *Plan) releaseCatalogs() []Target {
	var out []Target
	seen := map[string]bool{}
	add := func(t Target) {
		if t.Catalog != nil && !t.Test && !seen[t.Ref] {
			seen[t.Ref] = true
			out = append(out, t)
		}
	}
	if p.UpgradeTest != nil && p.UpgradeTest.Catalog != nil {
		add(*p.UpgradeTest.Catalog)
	}
	for _, t := range p.Publish {
		add(t)
	}
	for _, n := range p.opts.Routing.config().Select(false) {
		if t, err := openTarget(n, p.opts.Catalogs); err == nil {
			add(t)
		}
	}
	return out
}

// CheckNewest lists the chart's versions in every release catalog of the plan
// and returns a warning when they disagree on the newest release — after a
// publish that reached some catalogs only, the upgrade test would otherwise
// start from a version most users can't install without a word. A catalog that
// can't be listed is left out (the stages that need it report it).
func (p *Plan) CheckNewest(ctx context.Context, log *slog.Logger) string {
	cats := p.releaseCatalogs()
	if len(cats) < 2 {
		return ""
	}
	var parts []string
	newest := map[string]bool{}
	for _, t := range cats {
		vs, err := t.Catalog.Versions(ctx, p.Chart)
		if err != nil && !errors.Is(err, catalog.ErrNotFound) {
			log.Debug("listing versions to compare catalogs", "catalog", t.Ref, "error", err)
			continue
		}
		n := chart.NewestRelease(vs, "")
		newest[n] = true
		if n == "" {
			n = "none"
		}
		parts = append(parts, fmt.Sprintf("%s has %s", t.display(), n))
	}
	if len(newest) < 2 {
		return ""
	}
	msg := fmt.Sprintf("the release catalogs disagree on the newest release of %s: %s", p.Chart, strings.Join(parts, ", "))
	if p.UpgradeTest != nil && p.UpgradeTest.Catalog != nil && p.UpgradeTest.FromFile == "" {
		msg += fmt.Sprintf("; the upgrade test starts from %s (--from-catalog); a publish that stopped half-way? publish that version to the others", p.UpgradeTest.Catalog.display())
	}
	return msg
}

// display names the catalog for people: its reference and its name in .chartship.yaml.
func (t Target) display() string {
	if t.Name != "" {
		return t.Ref + " (" + t.Name + ")"
	}
	return t.Ref
}
