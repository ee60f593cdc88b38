package upgradetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
	kindexec "sigs.k8s.io/kind/pkg/exec"
	kindlog "sigs.k8s.io/kind/pkg/log"

	"github.com/chartship/chartship/internal/logging"
	"github.com/chartship/chartship/internal/retry"
)

// KindOptions configures KindCluster.
type KindOptions struct {
	// Name of the kind cluster; one with this name is reused if it exists and answers
	// (default "chartship").
	Name string
	// NodeImage, e.g. "kindest/node:v1.37.2"; empty: kind's default.
	NodeImage string
	// Keep leaves a cluster this call created running after Close.
	Keep bool
	// LoadImages are local images of the container engine side-loaded into every node
	// before the cluster is handed out, as `kind load docker-image` does.
	LoadImages []string
	// CreateTimeout bounds waiting for a new cluster's nodes to be Ready (default 5m).
	CreateTimeout time.Duration
	// StateDir records which clusters chartship created, so that a later run can tell a
	// cluster a killed run left behind from one a person made (default
	// $XDG_CACHE_HOME/chartship/kind/clusters).
	StateDir string
	// Logger gets progress lines; nil discards them.
	Logger *slog.Logger
}

// kindState is what chartship records about a kind cluster it created.
type kindState struct {
	Name    string    `json:"name"`
	Engine  string    `json:"engine"`
	PID     int       `json:"pid"`   // the run that owns it; 0 once that run let it go
	Keep    bool      `json:"keep"`  // --keep-cluster: never deleted by chartship
	Ready   bool      `json:"ready"` // creation finished; false: a run died while kind set it up
	Created time.Time `json:"created"`
}

// KindCluster creates (or reuses) a kind cluster through the kind library and side-loads
// opts.LoadImages into its nodes. Close deletes the cluster only if this call created it (or
// adopted one a killed run left behind) and opts.Keep is false, and only once no other
// chartship run on this machine uses it. Runs with different names go on at once; runs
// with the same name share one cluster. Without a container engine it fails at once,
// pointing at --cluster kubeconfig.
func KindCluster(ctx context.Context, opts KindOptions) (*Cluster, error) {
	log := logging.OrDiscard(opts.Logger)
	if opts.Name == "" {
		opts.Name = "chartship"
	}
	if opts.CreateTimeout <= 0 {
		opts.CreateTimeout = 5 * time.Minute
	}
	runtime, err := cluster.DetectNodeProvider()
	if err != nil {
		return nil, noEngine(err)
	}
	p := cluster.NewProvider(runtime, cluster.ProviderWithLogger(kindLogger{log}))
	if _, err := p.List(); err != nil {
		return nil, noEngine(err)
	}
	engine := engineID()
	st, err := openKindState(opts, engine)
	if err != nil {
		return nil, err
	}
	// One run at a time decides whether to create, reuse or recover the cluster; every run
	// using it holds the use lock shared, so whoever closes last may delete it.
	if err := lockFile(ctx, st.decide, syscall.LOCK_EX); err != nil {
		st.close()
		return nil, err
	}
	c, owned, err := acquireKind(ctx, p, st, opts, log)
	if err == nil {
		err = loadImages(ctx, p, opts.Name, opts.LoadImages, log)
	}
	if err == nil {
		err = lockFile(ctx, st.use, syscall.LOCK_SH)
	}
	if err != nil {
		if owned && !opts.Keep {
			_ = deleteKind(p, st, opts.Name, log)
			st.remove()
		}
		st.close()
		return nil, err
	}
	unlock(st.decide)
	c.close = func(ctx context.Context) error {
		defer st.close()
		// Deciding to delete excludes another run deciding to reuse.
		if err := lockFile(ctx, st.decide, syscall.LOCK_EX); err != nil {
			return err
		}
		rec, _ := st.read()
		if rec == nil || rec.Keep {
			return nil // not chartship's to delete, or kept on purpose
		}
		if !owned && rec.PID != 0 && processAlive(rec.PID) {
			return nil // its owner is still running
		}
		if err := syscall.Flock(int(st.use.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			// Another run still uses it: hand it over; the last one out deletes it.
			rec.PID = 0
			_ = st.write(rec)
			log.Info("kind cluster still in use by another run, which deletes it when done", "name", opts.Name)
			return nil
		}
		log.Info("deleting kind cluster", "name", opts.Name)
		if err := deleteKind(p, st, opts.Name, log); err != nil {
			return err
		}
		st.remove()
		return nil
	}
	return c, nil
}

// acquireKind reuses, recovers or creates the cluster; owned says this run created or
// adopted it (Close deletes it unless Keep).
func acquireKind(ctx context.Context, p *cluster.Provider, st *kindStateFile, opts KindOptions, log *slog.Logger) (*Cluster, bool, error) {
	existing, err := p.List()
	if err != nil {
		return nil, false, noEngine(err)
	}
	rec, err := st.read()
	if err != nil {
		return nil, false, err
	}
	if slices.Contains(existing, opts.Name) {
		var c *Cluster
		healthErr := errors.New("its creation was interrupted")
		if rec == nil || rec.Ready {
			c, healthErr = kindClusterHealthy(ctx, p, opts.Name, time.Minute)
		}
		switch {
		case healthErr == nil && rec != nil && !rec.Keep && (rec.PID == 0 || !processAlive(rec.PID)):
			log.Info("reusing kind cluster a killed run left behind; deleting it when done", "name", opts.Name)
			rec.PID, rec.Keep = os.Getpid(), opts.Keep
			if err := st.write(rec); err != nil {
				return nil, false, err
			}
			return c, true, nil
		case healthErr == nil:
			log.Info("reusing kind cluster", "name", opts.Name)
			return c, false, nil
		case rec == nil:
			return nil, false, fmt.Errorf("kind cluster %q exists but does not answer (%v), and chartship did not create it: "+
				"delete it with `kind delete cluster --name %s` or pass another --kind-name", opts.Name, healthErr, opts.Name)
		default:
			log.Warn("kind cluster left behind by a killed run is not usable; deleting and re-creating it",
				"name", opts.Name, "reason", healthErr)
			if err := deleteLeftover(ctx, p, st, opts.Name, log); err != nil {
				return nil, false, err
			}
			st.remove()
		}
	}
	if rec != nil {
		st.remove() // a record without its cluster
	}
	c, owned, err := createKind(ctx, p, st, opts, log)
	if err != nil && rec != nil && strings.Contains(err.Error(), "already exist") {
		// the killed run's last engine request landed after the delete: once more
		log.Info("the killed run's cluster came back while this run re-created it; deleting it once more", "name", opts.Name)
		if derr := deleteLeftover(ctx, p, st, opts.Name, log); derr != nil {
			return nil, false, derr
		}
		c, owned, err = createKind(ctx, p, st, opts, log)
	}
	return c, owned, err
}

func createKind(ctx context.Context, p *cluster.Provider, st *kindStateFile, opts KindOptions, log *slog.Logger) (*Cluster, bool, error) {
	cfg, notes, err := kindConfig()
	if err != nil {
		return nil, false, err
	}
	log.Info("creating kind cluster", "name", opts.Name, "image", opts.NodeImage, "host", notes)
	// Record ownership before the first container exists: a run killed from here on
	// leaves a cluster the next run knows it may delete.
	rec := &kindState{Name: opts.Name, Engine: st.engine, PID: os.Getpid(), Keep: opts.Keep, Created: time.Now().UTC()}
	if err := st.write(rec); err != nil {
		return nil, false, err
	}
	// kind writes the new cluster's kubeconfig here, not into the user's; chartship holds
	// the credentials in memory. In the state directory, so a killed run leaves no litter.
	scratch := st.scratchKubeconfig()
	defer os.Remove(scratch)
	createOpts := []cluster.CreateOption{
		cluster.CreateWithV1Alpha4Config(cfg),
		cluster.CreateWithWaitForReady(opts.CreateTimeout),
		cluster.CreateWithDisplayUsage(false), cluster.CreateWithDisplaySalutation(false),
		cluster.CreateWithKubeconfigPath(scratch),
	}
	if opts.NodeImage != "" {
		createOpts = append(createOpts, cluster.CreateWithNodeImage(opts.NodeImage))
	}
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- p.Create(opts.Name, createOpts...) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		// kind's Create takes no context: wait for it, then delete what it made.
		<-done
		_ = deleteKind(p, st, opts.Name, log)
		st.remove()
		return nil, false, fmt.Errorf("creating kind cluster %q: %w", opts.Name, ctx.Err())
	}
	if err != nil {
		st.remove() // kind deletes a cluster whose creation failed
		return nil, false, fmt.Errorf("creating kind cluster %q with node image %q: %w%s; "+
			"check the engine (docker info) and the image (scripts/kind-env up DIR builds one offline)",
			opts.Name, opts.NodeImage, err, kindOutput(err))
	}
	c, err := kindClusterHealthy(ctx, p, opts.Name, opts.CreateTimeout)
	if err != nil {
		return nil, true, fmt.Errorf("kind cluster %q was created but does not answer: %w", opts.Name, err)
	}
	rec.Ready = true
	if err := st.write(rec); err != nil {
		return nil, true, err
	}
	log.Info("kind cluster ready", "name", opts.Name, "seconds", time.Since(start).Round(100*time.Millisecond).Seconds())
	return c, true, nil
}

// kindConfig is the cluster configuration chartship asks kind for: one node, and what the
// engine's host needs — on a cgroup v1 host the kubelet must be told to start anyway
// (failCgroupV1 defaults to true from Kubernetes 1.35).
func kindConfig() (*v1alpha4.Cluster, string, error) {
	cfg := &v1alpha4.Cluster{TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"}}
	notes := "cgroup v2"
	if engineCgroupVersion() == "1" {
		notes = "cgroup v1: kubelet failCgroupV1=false"
		cfg.KubeadmConfigPatches = append(cfg.KubeadmConfigPatches,
			"apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nfailCgroupV1: false\n")
	}
	return cfg, notes, nil
}

// engineCgroupVersion asks the container engine which cgroup version its host runs
// ("1" or "2"; "" when it can't tell, which is treated as 2).
func engineCgroupVersion() string {
	for _, q := range [][]string{
		{"docker", "info", "--format", "{{.CgroupVersion}}"},
		{"podman", "info", "--format", "{{.Host.CgroupsVersion}}"},
	} {
		if _, err := exec.LookPath(q[0]); err != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		out, err := exec.CommandContext(ctx, q[0], q[1:]...).Output()
		cancel()
		if err == nil {
			return strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
		}
	}
	return ""
}

// kindClusterHealthy reads the cluster's kubeconfig and waits (up to wait) until the API
// server answers, every node is Ready and the cluster's own Deployments (CoreDNS, storage)
// are available: a chart's pods may need DNS and volumes from their first second.
func kindClusterHealthy(ctx context.Context, p *cluster.Provider, name string, wait time.Duration) (*Cluster, error) {
	kc, err := p.KubeConfig(name, false)
	if err != nil {
		return nil, fmt.Errorf("reading its kubeconfig: %w", err)
	}
	c, err := ClusterFromKubeconfigBytes("kind:"+name, []byte(kc), "")
	if err != nil {
		return nil, err
	}
	rc := c.RESTConfig()
	rc.Timeout = 10 * time.Second
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var last error
	for {
		last = nodesReady(ctx, client)
		if last == nil {
			last = systemReady(ctx, client)
		}
		if last == nil {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return nil, last
		case <-time.After(2 * time.Second):
		}
	}
}

// systemReady: every Deployment in kube-system and local-path-storage has all its replicas
// available.
func systemReady(ctx context.Context, client kubernetes.Interface) error {
	for _, ns := range []string{"kube-system", "local-path-storage"} {
		deps, err := client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("listing Deployments in %s: %w", ns, err)
		}
		for _, d := range deps.Items {
			want := int32(1)
			if d.Spec.Replicas != nil {
				want = *d.Spec.Replicas
			}
			if d.Status.AvailableReplicas < want {
				return fmt.Errorf("deployment %s/%s has %d of %d replicas available", ns, d.Name, d.Status.AvailableReplicas, want)
			}
		}
	}
	return nil
}

func nodesReady(ctx context.Context, client kubernetes.Interface) error {
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing nodes: %w", err)
	}
	if len(nodes.Items) == 0 {
		return errors.New("no nodes")
	}
	for _, n := range nodes.Items {
		ready := false
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				ready = true
			}
		}
		if !ready {
			return fmt.Errorf("node %s is not Ready", n.Name)
		}
	}
	return nil
}

// loadImages side-loads local images into every node of the cluster, skipping those a node
// already has with the same ID.
func loadImages(ctx context.Context, p *cluster.Provider, name string, images []string, log *slog.Logger) error {
	if len(images) == 0 {
		return nil
	}
	nodes, err := p.ListInternalNodes(name)
	if err != nil {
		return fmt.Errorf("listing the nodes of kind cluster %q: %w", name, err)
	}
	for _, img := range images {
		id, err := localImageID(ctx, img)
		if err != nil {
			return err
		}
		var need []int
		for i, n := range nodes {
			if have, err := nodeutils.ImageID(n, img); err == nil && have == id {
				continue
			}
			need = append(need, i)
		}
		if len(need) == 0 {
			log.Info("image already in the cluster", "image", img)
			continue
		}
		start := time.Now()
		archive, err := os.CreateTemp("", "chartship-load-image-*.tar")
		if err != nil {
			return err
		}
		archivePath := archive.Name()
		archive.Close()
		defer os.Remove(archivePath)
		var stderr bytes.Buffer
		save := exec.CommandContext(ctx, "docker", "save", "-o", archivePath, img)
		save.Stderr = &stderr
		if err := save.Run(); err != nil {
			return fmt.Errorf("--load-image %s: docker save failed: %w: %s", img, err, strings.TrimSpace(stderr.String()))
		}
		for _, i := range need {
			f, err := os.Open(archivePath)
			if err != nil {
				return err
			}
			err = nodeutils.LoadImageArchive(nodes[i], f)
			f.Close()
			if err != nil {
				return fmt.Errorf("--load-image %s: loading it into node %s: %w%s", img, nodes[i], err, kindOutput(err))
			}
		}
		log.Info("loaded image into the cluster", "image", img, "nodes", len(need), "seconds", time.Since(start).Round(100*time.Millisecond).Seconds())
	}
	return nil
}

func localImageID(ctx context.Context, img string) (string, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Id}}", img)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("--load-image %s: no such image in the container engine (%s): build or pull it there first",
			img, strings.TrimSpace(firstLine(stderr.String())))
	}
	return strings.TrimSpace(string(out)), nil
}

func deleteKind(p *cluster.Provider, st *kindStateFile, name string, log *slog.Logger) error {
	scratch := st.scratchKubeconfig()
	defer os.Remove(scratch)
	if err := p.Delete(name, scratch); err != nil {
		log.Warn("deleting kind cluster failed", "name", name, "error", err)
		return fmt.Errorf("deleting kind cluster %q: %w; delete it with `kind delete cluster --name %s`", name, err, name)
	}
	return nil
}

// deleteLeftover deletes the cluster a killed run left behind until no node of
// it is left: a container engine request the killed run had in flight (its
// docker CLI is not always killed with it) can land after the first delete,
// and kind then refuses to create the cluster ("node(s) already exist").
func deleteLeftover(ctx context.Context, p *cluster.Provider, st *kindStateFile, name string, log *slog.Logger) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := deleteKind(p, st, name, log); err != nil {
			return err
		}
		nodes, err := p.ListNodes(name)
		if err == nil && len(nodes) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("deleting kind cluster %q: %d node(s) keep coming back (%v); delete it with `kind delete cluster --name %s`", name, len(nodes), err, name)
		}
		log.Info("a node of the killed run's cluster is still there; deleting it again", "name", name, "nodes", len(nodes))
		if err := retry.Sleep(ctx, time.Second); err != nil {
			return err
		}
	}
}

// kindOutput is the tail of what the failing command printed, when kind says.
func kindOutput(err error) string {
	re := kindexec.RunErrorForError(err)
	if re == nil || len(bytes.TrimSpace(re.Output)) == 0 {
		return ""
	}
	return "; its output ends: " + strings.ReplaceAll(tail(string(re.Output), 5), "\n", " | ")
}

func noEngine(err error) error {
	return fmt.Errorf("%w: --cluster kind needs a running Docker (or podman/nerdctl) engine (%v); "+
		"start one (scripts/kind-env up DIR starts one on this machine) or, to use an existing cluster, "+
		"pass --cluster kubeconfig [--kubeconfig FILE] [--kube-context NAME]",
		errNoContainerEngine, err)
}

// engineID names the container engine the kind provider talks to, so that state about a
// cluster in one engine is not applied to a same-named cluster in another.
func engineID() string {
	for _, v := range []string{"DOCKER_HOST", "CONTAINER_HOST", "KIND_EXPERIMENTAL_PROVIDER"} {
		if s := os.Getenv(v); s != "" {
			return v + "=" + s
		}
	}
	return "default"
}

// kindStateFile is the record and the locks of one cluster name in one engine: decide is
// held exclusively while a run creates, reuses, recovers or deletes the cluster; use is held
// shared by every run using it.
type kindStateFile struct {
	path, engine string
	decide, use  *os.File
}

func openKindState(opts KindOptions, engine string) (*kindStateFile, error) {
	dir := opts.StateDir
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		dir = filepath.Join(base, "chartship", "kind", "clusters")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("kind cluster state directory %s: %w", dir, err)
	}
	sum := sha256.Sum256([]byte(engine))
	base := filepath.Join(dir, opts.Name+"-"+hex.EncodeToString(sum[:4]))
	st := &kindStateFile{path: base + ".json", engine: engine}
	var err error
	if st.decide, err = os.OpenFile(base+".lock", os.O_CREATE|os.O_RDWR, 0o644); err != nil {
		return nil, fmt.Errorf("kind cluster lock: %w", err)
	}
	if st.use, err = os.OpenFile(base+".use", os.O_CREATE|os.O_RDWR, 0o644); err != nil {
		st.close()
		return nil, fmt.Errorf("kind cluster lock: %w", err)
	}
	return st, nil
}

// lockFile takes a flock (shared or exclusive) on f, waiting as long as ctx allows.
func lockFile(ctx context.Context, f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("locking %s: %w", f.Name(), err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for another chartship run to finish with the kind cluster (%s): %w", f.Name(), ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func unlock(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }

func (s *kindStateFile) read() (*kindState, error) {
	data, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.path, err)
	}
	var st kindState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, nil // unreadable: as if chartship had not made it
	}
	return &st, nil
}

func (s *kindStateFile) write(st *kindState) error {
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", s.path, err)
	}
	return os.Rename(tmp, s.path)
}

func (s *kindStateFile) remove() { _ = os.Remove(s.path) }

// scratchKubeconfig is where kind may write a kubeconfig for this cluster (removed after).
func (s *kindStateFile) scratchKubeconfig() string {
	return strings.TrimSuffix(s.path, ".json") + ".kubeconfig"
}

func (s *kindStateFile) close() {
	for _, f := range []*os.File{s.decide, s.use} {
		if f != nil {
			f.Close() // releases its lock
		}
	}
	s.decide, s.use = nil, nil
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// kindLogger passes kind's progress to chartship's logger: its status lines at Info,
// details at Debug.
type kindLogger struct{ log *slog.Logger }

func (l kindLogger) Warn(message string)                       { l.log.Warn("kind: " + message) }
func (l kindLogger) Warnf(format string, args ...interface{})  { l.Warn(fmt.Sprintf(format, args...)) }
func (l kindLogger) Error(message string)                      { l.log.Error("kind: " + message) }
func (l kindLogger) Errorf(format string, args ...interface{}) { l.Error(fmt.Sprintf(format, args...)) }
func (l kindLogger) V(level kindlog.Level) kindlog.InfoLogger {
	return kindInfo{log: l.log, level: level}
}

type kindInfo struct {
	log   *slog.Logger
	level kindlog.Level
}

func (i kindInfo) Info(message string) {
	message = strings.TrimSpace(message)
	if message == "" {
		return
	}
	if i.level <= 0 {
		i.log.Info("kind: " + message)
	} else {
		i.log.Debug("kind: " + message)
	}
}
func (i kindInfo) Infof(format string, args ...interface{}) { i.Info(fmt.Sprintf(format, args...)) }
func (i kindInfo) Enabled() bool                            { return true }
