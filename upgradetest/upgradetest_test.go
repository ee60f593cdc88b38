package upgradetest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/upgradetest"
)

// The seam: package catalog's catalogs are upgrade-test catalogs as they are.
var _ upgradetest.Catalog = catalog.Catalog(nil)

// TestResolveFromOldestSupportedZeroMajor: for 0.y.z the minor is the
// compatibility line (internal/compat), so oldest-supported stays in stable's
// 0.y, as IsMajorUpgrade does.
func TestResolveFromOldestSupportedZeroMajor(t *testing.T) {
	got, err := upgradetest.ResolveFrom("oldest-supported", "0.3.2", []string{"0.1.0", "0.2.0", "0.3.0", "0.3.1"})
	require.NoError(t, err)
	assert.Equal(t, []string{"0.3.0"}, got)
	assert.False(t, upgradetest.IsMajorUpgrade(got[0], "0.3.2"))
	got, err = upgradetest.ResolveFrom("oldest-supported", "2.0.0", []string{"0.1.0", "1.0.0", "1.4.0"})
	require.NoError(t, err)
	assert.Equal(t, []string{"1.0.0"}, got)
}

func TestResolveFrom(t *testing.T) {
	released := []string{"0.9.0", "1.0.0", "1.0.1", "1.1.0", "1.2.0-rc.1", "1.1.3", "2.0.0-beta.1", "not-semver"}
	for _, tc := range []struct {
		spec, to string
		want     []string
		err      string
	}{
		{spec: "", to: "1.2.0", want: []string{"1.1.3"}},
		{spec: "stable", to: "1.1.3", want: []string{"1.1.0"}},
		{spec: "stable", to: "2.0.0", want: []string{"1.1.3"}},
		{spec: "1.0.0", to: "1.2.0", want: []string{"1.0.0"}},
		{spec: "N-1", to: "1.2.0", want: []string{"1.1.3"}},
		{spec: "N-2", to: "1.2.0", want: []string{"1.0.1"}},
		{spec: "N-1,oldest-supported", to: "1.2.0", want: []string{"1.0.0", "1.1.3"}},
		{spec: "stable,N-1", to: "1.2.0", want: []string{"1.1.3"}}, // de-duplicated
		{spec: "stable", to: "0.9.0", want: []string{}},            // first release
		{spec: "stable", to: "1.2.0-dev.main.20260101.habc", want: []string{"1.1.3"}},
		{spec: "3.0.0", to: "3.1.0", err: "has no version 3.0.0"},
		{spec: "1.1.3", to: "1.1.0", err: "not below"},
		{spec: "latest", to: "1.2.0", err: "want stable"},
		{spec: "N-x", to: "1.2.0", err: "want N-1"},
		{spec: "stable", to: "bad", err: "not semver"},
	} {
		t.Run(tc.spec+"→"+tc.to, func(t *testing.T) {
			got, err := upgradetest.ResolveFrom(tc.spec, tc.to, released)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, append([]string{}, got...))
		})
	}
}

func FuzzResolveFrom(f *testing.F) {
	f.Add("stable,N-1", "1.2.0", "1.0.0,1.1.0")
	f.Add("oldest-supported", "2.0.0", "1.0.0,2.0.0-rc.1")
	f.Add("1.0.0", "1.0.1", "v1.0.0")
	f.Fuzz(func(t *testing.T, spec, to, released string) {
		got, err := upgradetest.ResolveFrom(spec, to, strings.Split(released, ","))
		if err == nil {
			for _, v := range got {
				assert.Contains(t, strings.Split(released, ","), v)
			}
		}
	})
}

func TestIsMajorUpgrade(t *testing.T) {
	assert.True(t, upgradetest.IsMajorUpgrade("1.9.0", "2.0.0"))
	assert.True(t, upgradetest.IsMajorUpgrade("0.3.1", "0.4.0"))
	assert.False(t, upgradetest.IsMajorUpgrade("1.0.0", "1.9.0"))
	assert.False(t, upgradetest.IsMajorUpgrade("0.3.1", "0.3.2"))
}

func TestKindWithoutContainerEngineNamesTheAlternative(t *testing.T) {
	if exec.Command("docker", "info").Run() == nil {
		t.Skip("a Docker engine runs here; this test is about machines without one")
	}
	_, err := upgradetest.KindCluster(context.Background(), upgradetest.KindOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--cluster kubeconfig")
}

func TestKubeconfigClusterErrors(t *testing.T) {
	_, err := upgradetest.KubeconfigCluster(filepath.Join(t.TempDir(), "missing"), "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--kubeconfig")

	kc := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: secret-token}}]
contexts: [{name: a, context: {cluster: c, user: u}}]
current-context: a
`), 0o600))
	_, err = upgradetest.KubeconfigCluster(kc, "nope")
	require.ErrorContains(t, err, `no context "nope"`)
	c, err := upgradetest.KubeconfigCluster(kc, "a")
	require.NoError(t, err)
	assert.Equal(t, "https://127.0.0.1:1", c.RESTConfig().Host)
	assert.NotContains(t, c.Name, "secret-token")
}

func TestHelmRepoCatalog(t *testing.T) {
	r := helmRepo(t, []string{"hello-1.0.0"}, "1.1.0-rc.1")
	versions, err := r.Versions(context.Background(), "hello")
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"1.0.0", "1.1.0-rc.1"}, versions)
	p, err := r.Fetch(context.Background(), "hello", "1.0.0", t.TempDir())
	require.NoError(t, err)
	assert.FileExists(t, p)
	_, err = r.Fetch(context.Background(), "hello", "9.9.9", t.TempDir())
	require.ErrorIs(t, err, catalog.ErrNotFound)
}

// TestJUnitSchema checks the JUnit writer against the schema CircleCI's reader takes, for a
// report with passed, failed and skipped steps and text that needs escaping.
func TestJUnitSchema(t *testing.T) {
	rep := &upgradetest.Report{Chart: "hello", To: "1.1.0", From: []string{"1.0.0"}, Seconds: 3.2,
		Scenarios: []upgradetest.ScenarioResult{
			{Name: "default", Values: "ci/default-values.yaml", Kind: upgradetest.KindUpgrade, From: "1.0.0", To: "1.1.0",
				Passed: true, Note: "major <upgrade> & more", Steps: []upgradetest.Step{
					{Name: "install 1.0.0", Passed: true, Seconds: 0.2},
					{Name: "healthy after install", Passed: true, Seconds: 0.5, Details: "ok"}}},
			{Name: "other", Kind: upgradetest.KindUpgrade, From: "1.0.0", To: "1.1.0", Steps: []upgradetest.Step{
				{Name: "upgrade to 1.1.0", Error: `cannot patch "x": field is immutable`, Details: "events:\n  <none>", Seconds: 1},
				{Name: "healthy after upgrade", Skipped: true}}},
		}}
	var buf bytes.Buffer
	require.NoError(t, rep.WriteJUnit(&buf))
	path := filepath.Join(t.TempDir(), "junit.xml")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	assert.Contains(t, buf.String(), `<testsuites name="chartship upgrade-test hello 1.1.0" tests="4" failures="1" errors="0" skipped="1"`)
	validateJUnit(t, path)
}

func runUpgrade(t *testing.T, opts upgradetest.Options) (*upgradetest.Report, error) {
	t.Helper()
	c := needCluster(t)
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Minute
	}
	rep, err := upgradetest.Run(runCtx(t), c, opts)
	if rep != nil {
		var buf bytes.Buffer
		rep.Text(&buf)
		t.Logf("report:\n%s", buf.String())
	}
	return rep, err
}

func stepNames(s upgradetest.ScenarioResult) []string {
	var out []string
	for _, st := range s.Steps {
		out = append(out, st.Name)
	}
	return out
}

func step(t *testing.T, s upgradetest.ScenarioResult, name string) upgradetest.Step {
	t.Helper()
	for _, st := range s.Steps {
		if st.Name == name {
			return st
		}
	}
	t.Fatalf("no step %q in %v", name, stepNames(s))
	return upgradetest.Step{}
}

// namespaceGone asserts the scenario cleaned up: its namespace is deleted or terminating.
func namespaceGone(t *testing.T, ns string) {
	t.Helper()
	cs, err := kubernetes.NewForConfig(testCluster.RESTConfig())
	require.NoError(t, err)
	got, err := cs.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{})
	if err == nil {
		assert.NotNil(t, got.DeletionTimestamp, "namespace %s left behind", ns)
	}
}

func TestCleanUpgradePasses(t *testing.T) {
	t.Parallel()
	hookOut := filepath.Join(t.TempDir(), "hook.txt")
	rep, err := runUpgrade(t, upgradetest.Options{
		Chart:         loadChart(t, "hello-1.1.0"),
		FromFile:      testdata(t, "hello-1.0.0"),
		Hook:          `echo "$CHARTSHIP_STAGE $CHARTSHIP_FROM_VERSION $CHARTSHIP_TO_VERSION $CHARTSHIP_RELEASE $CHARTSHIP_NAMESPACE" > ` + hookOut + ` && test -s "$KUBECONFIG"`,
		RollbackCheck: true,
	})
	require.NoError(t, err)
	require.True(t, rep.Passed)
	assert.Equal(t, "v1.37.2", rep.KubernetesVersion, "the test cluster reports the pinned version")
	require.Len(t, rep.Scenarios, 1)
	s := rep.Scenarios[0]
	assert.Equal(t, "default", s.Name) // from ci/default-values.yaml
	assert.Equal(t, []string{"install 1.0.0", "healthy after install", "helm test after install", "hook pre-upgrade",
		"upgrade to 1.1.0", "healthy after upgrade", "helm test after upgrade", "rollback to 1.0.0",
		"healthy after rollback", "uninstall"}, stepNames(s))
	for _, st := range s.Steps {
		assert.True(t, st.Passed, "step %s: %s", st.Name, st.Error)
	}
	assert.Contains(t, step(t, s, "helm test after upgrade").Details, "Pod/hello-hello-test: Succeeded")
	hook, err := os.ReadFile(hookOut)
	require.NoError(t, err)
	assert.Equal(t, "pre-upgrade 1.0.0 1.1.0 hello "+s.Namespace+"\n", string(hook))
	assert.False(t, s.Major)
	namespaceGone(t, s.Namespace)

	doc, err := json.Marshal(rep.Result())
	require.NoError(t, err)
	assert.JSONEq(t, `{"chart":"hello","from":["1.0.0"],"to":"1.1.0","kubernetesVersion":"v1.37.2","passed":true,"seconds":`+
		jsonNumber(t, rep.Seconds)+`}`, string(doc))
}

func jsonNumber(t *testing.T, f float64) string {
	b, err := json.Marshal(f)
	require.NoError(t, err)
	return string(b)
}

func TestSelectorChangeFailsUpgradeButInstallsFresh(t *testing.T) {
	t.Parallel()
	to := loadChart(t, "hello-1.2.0-selector")
	rep, err := runUpgrade(t, upgradetest.Options{Chart: to, FromFile: testdata(t, "hello-1.0.0")})
	require.Error(t, err)
	assert.True(t, errors.Is(err, upgradetest.ErrFailed))
	assert.True(t, errors.Is(err, errdef.ErrCheck))
	assert.Contains(t, err.Error(), "field is immutable")
	s := rep.Scenarios[0]
	up := step(t, s, "upgrade to 1.2.0")
	assert.False(t, up.Passed)
	assert.Contains(t, up.Error, "field is immutable")
	assert.Contains(t, up.Details, "helm history hello:", "diagnostics include helm history")
	assert.True(t, step(t, s, "healthy after upgrade").Skipped)
	assert.True(t, step(t, s, "uninstall").Passed, "clean-up runs after a failure")
	namespaceGone(t, s.Namespace)

	// The same chart installs fine on its own: only existing installations break.
	fresh, err := runUpgrade(t, upgradetest.Options{Chart: to, Catalog: helmRepo(t, nil)})
	require.NoError(t, err)
	assert.True(t, fresh.FirstRelease)
	assert.Equal(t, upgradetest.KindInstall, fresh.Scenarios[0].Kind)
	assert.Contains(t, fresh.Scenarios[0].Note, "first release, install test only")
	var txt bytes.Buffer
	fresh.Text(&txt)
	assert.Contains(t, txt.String(), "first release, install test only")
}

func TestFailingHelmTestAfterUpgradeFails(t *testing.T) {
	t.Parallel()
	rep, err := runUpgrade(t, upgradetest.Options{Chart: loadChart(t, "hello-1.1.0-badtest"), FromFile: testdata(t, "hello-1.0.0")})
	require.ErrorIs(t, err, upgradetest.ErrFailed)
	s := rep.Scenarios[0]
	assert.True(t, step(t, s, "helm test after install").Passed)
	assert.True(t, step(t, s, "healthy after upgrade").Passed)
	ht := step(t, s, "helm test after upgrade")
	assert.False(t, ht.Passed)
	assert.Contains(t, ht.Error, "hello-hello-test")
	assert.Contains(t, ht.Details, "exit code 1", "diagnostics show the failed test pod")
}

func TestJobHookFailingOnlyOnUpgrade(t *testing.T) {
	t.Parallel()
	to := loadChart(t, "hello-1.1.0-hookfail")
	rep, err := runUpgrade(t, upgradetest.Options{Chart: to, FromFile: testdata(t, "hello-1.0.0")})
	require.ErrorIs(t, err, upgradetest.ErrFailed)
	up := step(t, rep.Scenarios[0], "upgrade to 1.1.0")
	assert.False(t, up.Passed)
	assert.Contains(t, up.Error, "post-upgrade hooks failed")

	// A fresh install runs the same Job as post-install, and it passes.
	fresh, err := runUpgrade(t, upgradetest.Options{Chart: to, Catalog: helmRepo(t, nil)})
	require.NoError(t, err)
	assert.True(t, fresh.Passed)
}

// TestFromVersionFromCatalog resolves "stable" from a helm repository served over HTTP
// (pre-releases and versions above the one under test are ignored), and checks the JUnit
// report of the real run against the schema.
func TestFromVersionFromCatalog(t *testing.T) {
	t.Parallel()
	cat := helmRepo(t, []string{"hello-1.0.0"}, "1.1.0-rc.1", "0.1.0", "3.0.0")
	rep, err := runUpgrade(t, upgradetest.Options{Chart: loadChart(t, "hello-1.1.0"), Catalog: cat, From: "stable", SkipTests: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"1.0.0"}, rep.From)
	assert.NotContains(t, stepNames(rep.Scenarios[0]), "helm test after install")

	junit := filepath.Join(t.TempDir(), "junit.xml")
	f, err := os.Create(junit)
	require.NoError(t, err)
	require.NoError(t, rep.WriteJUnit(f))
	require.NoError(t, f.Close())
	validateJUnit(t, junit)
}

func TestMajorUpgradeIsNeverSkippedSilently(t *testing.T) {
	t.Parallel()
	rep, err := runUpgrade(t, upgradetest.Options{Chart: loadChart(t, "hello-2.0.0"), FromFile: testdata(t, "hello-1.1.0"),
		Breaking: upgradetest.BreakingFail, SkipTests: true})
	require.ErrorIs(t, err, errdef.ErrCheck)
	s := rep.Scenarios[0]
	assert.True(t, s.Major)
	assert.True(t, step(t, s, "upgrade to 2.0.0").Passed, "the major upgrade still ran")
	assert.Contains(t, s.Note, "refused by --breaking=fail")

	// --breaking=warn: a major upgrade that breaks (2.0.0 drops the selector label 1.2.0
	// added) is reported as a warning, not a failure.
	rep, err = runUpgrade(t, upgradetest.Options{Chart: loadChart(t, "hello-2.0.0"), FromFile: testdata(t, "hello-1.2.0-selector"),
		Breaking: upgradetest.BreakingWarn, SkipTests: true})
	require.NoError(t, err)
	s = rep.Scenarios[0]
	assert.True(t, s.Passed)
	assert.Contains(t, step(t, s, "upgrade to 2.0.0").Error, "field is immutable")
	assert.Contains(t, s.Note, "warning: the major upgrade 1.2.0 → 2.0.0 breaks existing installations")
}

// TestUnhealthyReleaseTimesOutWithDiagnostics: a Deployment that can never become available
// (no node matches its nodeSelector) fails "healthy after install" at --timeout, naming the
// object that is not Current and showing the scheduler's events.
func TestUnhealthyReleaseTimesOutWithDiagnostics(t *testing.T) {
	t.Parallel()
	rep, err := runUpgrade(t, upgradetest.Options{Chart: loadChart(t, "hello-1.1.0"), FromFile: testdata(t, "hello-1.0.0"),
		Values: []string{testdata(t, "unschedulable-values.yaml")}, Timeout: 5 * time.Second})
	require.ErrorIs(t, err, upgradetest.ErrFailed)
	s := rep.Scenarios[0]
	assert.Equal(t, "unschedulable", s.Name)
	h := step(t, s, "healthy after install")
	assert.False(t, h.Passed)
	assert.Contains(t, h.Error, "timed out after 5s")
	assert.Contains(t, h.Error, "Deployment/hello-hello: InProgress")
	assert.NotContains(t, h.Error, "ConfigMap/", "only objects that are not Current are listed")
	assert.Contains(t, h.Details, "FailedScheduling")
	assert.Contains(t, h.Details, "hello-hello-")
	assert.True(t, step(t, s, "upgrade to 1.1.0").Skipped)
}
