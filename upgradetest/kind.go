package upgradetest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"sigs.k8s.io/kind/pkg/cluster"
	kindlog "sigs.k8s.io/kind/pkg/log"

	"github.com/chartship/chartship/internal/logging"
)

// KindOptions configures KindCluster.
type KindOptions struct {
	// Name of the kind cluster; one with this name is reused if it exists (default "chartship").
	Name string
	// NodeImage, e.g. "kindest/node:v1.36.0"; empty: kind's default.
	NodeImage string
	// Keep leaves a cluster this call created running after Close.
	Keep bool
	// Logger gets progress lines; nil discards them.
	Logger *slog.Logger
}

// KindCluster creates (or reuses) a kind cluster through the kind library. Without a
// container engine it fails at once, pointing at --cluster kubeconfig.
func KindCluster(ctx context.Context, opts KindOptions) (*Cluster, error) {
	log := logging.OrDiscard(opts.Logger)
	if opts.Name == "" {
		opts.Name = "chartship"
	}
	runtime, err := cluster.DetectNodeProvider()
	if err != nil {
		return nil, noEngine(err)
	}
	p := cluster.NewProvider(runtime, cluster.ProviderWithLogger(kindlog.NoopLogger{}))
	existing, err := p.List()
	if err != nil {
		return nil, noEngine(err)
	}
	created := false
	if slices.Contains(existing, opts.Name) {
		log.Info("reusing kind cluster", "name", opts.Name)
	} else {
		log.Info("creating kind cluster", "name", opts.Name, "image", opts.NodeImage)
		scratch, cleanup := scratchKubeconfig()
		defer cleanup()
		createOpts := []cluster.CreateOption{cluster.CreateWithWaitForReady(3 * time.Minute),
			cluster.CreateWithDisplayUsage(false), cluster.CreateWithDisplaySalutation(false),
			cluster.CreateWithKubeconfigPath(scratch)}
		if opts.NodeImage != "" {
			createOpts = append(createOpts, cluster.CreateWithNodeImage(opts.NodeImage))
		}
		if err := p.Create(opts.Name, createOpts...); err != nil {
			return nil, fmt.Errorf("creating kind cluster %q: %w", opts.Name, err)
		}
		created = true
	}
	kc, err := p.KubeConfig(opts.Name, false)
	if err != nil {
		return nil, fmt.Errorf("reading the kubeconfig of kind cluster %q: %w", opts.Name, err)
	}
	c, err := ClusterFromKubeconfigBytes("kind:"+opts.Name, []byte(kc), "")
	if err != nil {
		return nil, err
	}
	c.close = func(context.Context) error {
		if !created || opts.Keep {
			return nil
		}
		log.Info("deleting kind cluster", "name", opts.Name)
		scratch, cleanup := scratchKubeconfig()
		defer cleanup()
		if err := p.Delete(opts.Name, scratch); err != nil {
			return fmt.Errorf("deleting kind cluster %q: %w; delete it with `kind delete cluster --name %s`", opts.Name, err, opts.Name)
		}
		return nil
	}
	return c, nil
}

func noEngine(err error) error {
	return fmt.Errorf("%w: --cluster kind needs a running Docker (or podman/nerdctl) engine (%v); "+
		"to use an existing cluster instead pass --cluster kubeconfig [--kubeconfig FILE] [--kube-context NAME]",
		errNoContainerEngine, err)
}

// scratchKubeconfig keeps kind from editing the user's kubeconfig: chartship holds the
// cluster's credentials in memory; kind writes its copy into a temporary file removed at once.
func scratchKubeconfig() (string, func()) {
	dir, err := os.MkdirTemp("", "chartship-kind-")
	if err != nil {
		return filepath.Join(os.TempDir(), "chartship-kind-kubeconfig"), func() {}
	}
	return filepath.Join(dir, "kubeconfig"), func() { _ = os.RemoveAll(dir) }
}
