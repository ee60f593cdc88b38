// Package upgradetest proves that a new chart package upgrades what users actually run: in a
// real cluster it installs the released from-version, waits until every object is healthy
// (kstatus, followed with a watch), runs `helm test`, upgrades to the new package, checks again,
// and reports each step (text, JSON, JUnit, and a small result document).
package upgradetest

import (
	"context"
	"errors"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Cluster is a Kubernetes cluster the scenarios run in. Get one from KubeconfigCluster or
// KindCluster; Close releases what the provider created (a kind cluster it made).
type Cluster struct {
	// Name says where the cluster came from, e.g. "kubeconfig:/home/me/.kube/config@ctx".
	Name string

	raw   clientcmdapi.Config // the kubeconfig, reduced to the chosen context
	rest  *rest.Config
	close func(context.Context) error
}

// KubeconfigCluster uses an existing cluster, spelled the way helm does: a kubeconfig file
// (empty: $KUBECONFIG, then ~/.kube/config) and an optional context (empty: the current one).
func KubeconfigCluster(kubeconfig, kubeContext string) (*Cluster, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	raw, err := rules.Load()
	if err != nil {
		return nil, fmt.Errorf("reading kubeconfig %s: %w; pass a readable file with --kubeconfig", describeKubeconfig(kubeconfig), err)
	}
	name := "kubeconfig:" + describeKubeconfig(kubeconfig)
	if kubeContext != "" {
		name += "@" + kubeContext
	}
	return clusterFromConfig(name, *raw, kubeContext, nil)
}

// ClusterFromKubeconfigBytes is KubeconfigCluster for a kubeconfig held in memory.
func ClusterFromKubeconfigBytes(name string, kubeconfig []byte, kubeContext string) (*Cluster, error) {
	raw, err := clientcmd.Load(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("parsing kubeconfig of %s: %w", name, err)
	}
	return clusterFromConfig(name, *raw, kubeContext, nil)
}

func describeKubeconfig(path string) string {
	if path != "" {
		return path
	}
	if env := os.Getenv("KUBECONFIG"); env != "" {
		return "$KUBECONFIG (" + env + ")"
	}
	return "~/.kube/config"
}

func clusterFromConfig(name string, raw clientcmdapi.Config, kubeContext string, closeFn func(context.Context) error) (*Cluster, error) {
	if kubeContext == "" {
		kubeContext = raw.CurrentContext
	}
	if _, ok := raw.Contexts[kubeContext]; !ok {
		if kubeContext == "" {
			return nil, fmt.Errorf("%s has no current context; choose one with --kube-context", name)
		}
		return nil, fmt.Errorf("%s has no context %q; choose one of its contexts with --kube-context", name, kubeContext)
	}
	raw.CurrentContext = kubeContext
	if err := clientcmdapi.MinifyConfig(&raw); err != nil {
		return nil, fmt.Errorf("reducing %s to context %q: %w", name, kubeContext, err)
	}
	if err := clientcmdapi.FlattenConfig(&raw); err != nil {
		return nil, fmt.Errorf("inlining the files %s refers to: %w", name, err)
	}
	rc, err := clientcmd.NewDefaultClientConfig(raw, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("building a client for %s: %w", name, err)
	}
	rc.QPS, rc.Burst = 100, 200
	if closeFn == nil {
		closeFn = func(context.Context) error { return nil }
	}
	return &Cluster{Name: name, raw: raw, rest: rc, close: closeFn}, nil
}

// RESTConfig returns a copy of the client configuration.
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.rest) }

// Kubeconfig returns the cluster's kubeconfig (one context, files inlined), e.g. for --hook
// commands. It holds credentials: never print it.
func (c *Cluster) Kubeconfig() ([]byte, error) { return clientcmd.Write(c.raw) }

// KubernetesVersion asks the API server for its version, e.g. "v1.37.2".
func (c *Cluster) KubernetesVersion() (string, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(c.RESTConfig())
	if err != nil {
		return "", err
	}
	v, err := dc.ServerVersion()
	if err != nil {
		return "", fmt.Errorf("asking %s for its version: %w; is the cluster reachable?", c.Name, err)
	}
	return v.GitVersion, nil
}

// Close releases what the provider created; for a kubeconfig cluster it does nothing.
func (c *Cluster) Close(ctx context.Context) error {
	if c == nil || c.close == nil {
		return nil
	}
	err := c.close(ctx)
	c.close = nil
	return err
}

// getter is an in-memory genericclioptions.RESTClientGetter for helm's action.Configuration,
// bound to one namespace.
type getter struct {
	cluster   *Cluster
	namespace string
	disco     discovery.CachedDiscoveryInterface
	mapper    meta.RESTMapper
}

var _ genericclioptions.RESTClientGetter = (*getter)(nil)

func newGetter(c *Cluster, namespace string) (*getter, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(c.RESTConfig())
	if err != nil {
		return nil, fmt.Errorf("discovery client for %s: %w", c.Name, err)
	}
	disco := memory.NewMemCacheClient(dc)
	return &getter{
		cluster:   c,
		namespace: namespace,
		disco:     disco,
		mapper:    restmapper.NewShortcutExpander(restmapper.NewDeferredDiscoveryRESTMapper(disco), disco, nil),
	}, nil
}

func (g *getter) ToRESTConfig() (*rest.Config, error) { return g.cluster.RESTConfig(), nil }
func (g *getter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	return g.disco, nil
}
func (g *getter) ToRESTMapper() (meta.RESTMapper, error) { return g.mapper, nil }
func (g *getter) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return clientcmd.NewDefaultClientConfig(g.cluster.raw, &clientcmd.ConfigOverrides{
		Context: clientcmdapi.Context{Namespace: g.namespace},
	})
}

// errNoContainerEngine is returned by KindCluster when no Docker (or podman/nerdctl) engine runs.
var errNoContainerEngine = errors.New("no container engine")

// RESTClientGetter returns a RESTClientGetter for helm's action.Configuration bound to
// namespace, holding the kubeconfig in memory (nothing is written to disk).
func (c *Cluster) RESTClientGetter(namespace string) (genericclioptions.RESTClientGetter, error) {
	return newGetter(c, namespace)
}
