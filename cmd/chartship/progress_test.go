package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chartship/chartship/internal/gittest"
	"github.com/chartship/chartship/internal/testcluster"
)

// tmuxRun runs script in a shell inside a real terminal (a tmux pane, 150×50) and returns
// what the pane shows when it is done and every byte the program wrote to it.
func tmuxRun(t *testing.T, script string) (screen, raw string) {
	t.Helper()
	gittest.NeedTool(t, "tmux") // the progress view is tested in a real terminal
	tmux, err := exec.LookPath("tmux")
	require.NoError(t, err)
	dir := t.TempDir()
	sock := filepath.Join(dir, "tmux.sock")
	tm := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(tmux, append([]string{"-S", sock}, args...)...).CombinedOutput()
		require.NoError(t, err, "tmux %v: %s", args, out)
		return string(out)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "run.sh"), []byte(script+"\necho \"exit status $?\"\ntouch "+filepath.Join(dir, "done")+"\n"), 0o755))
	tm("new-session", "-d", "-x", "150", "-y", "50", "-s", "cs", "/bin/sh")
	t.Cleanup(func() { _ = exec.Command(tmux, "-S", sock, "kill-server").Run() })
	tm("pipe-pane", "-o", "-t", "cs", "cat > "+filepath.Join(dir, "raw"))
	tm("send-keys", "-t", "cs", "clear; sh "+filepath.Join(dir, "run.sh"), "Enter")
	// done once the script is and tmux has drawn and piped its last line
	deadline := time.Now().Add(3 * time.Minute)
	for {
		_, err := os.Stat(filepath.Join(dir, "done"))
		finished := err == nil
		screen = tm("capture-pane", "-p", "-t", "cs", "-S", "-200")
		b, err := os.ReadFile(filepath.Join(dir, "raw"))
		if !os.IsNotExist(err) { // tmux creates it with the first bytes it pipes
			require.NoError(t, err)
		}
		raw = string(b)
		if finished && strings.Contains(screen, "exit status ") && strings.Contains(raw, "exit status ") {
			break
		}
		require.True(t, time.Now().Before(deadline), "the command did not finish; the pane shows:\n%s", screen)
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("pane:\n%s", screen)
	return screen, raw
}

// The live view in a real terminal, and plain log lines with CI=true; stdout (JSON) is the
// same either way.
func TestProgressViewInATerminal(t *testing.T) {
	kc := testcluster.Kubeconfig(t)
	exe, err := os.Executable()
	require.NoError(t, err)
	bin := envRunAsCLI + "=1 " + exe // the test binary as the CLI (TestMain)
	dir := t.TempDir()
	run := fmt.Sprintf("%s upgrade-test %s --cluster kubeconfig --kubeconfig %s --from-file %s --skip-tests --parallel 2 --values %s --values %s",
		bin, abs(t, upgradeTestdata("hello-1.1.0")), kc, abs(t, upgradeTestdata("hello-1.0.0")),
		abs(t, upgradeTestdata("one-replica-values.yaml")), abs(t, upgradeTestdata("three-replicas-values.yaml")))
	scenarios := []string{"one-replica: 1.0.0 → 1.1.0", "three-replicas: 1.0.0 → 1.1.0"}

	// A terminal: the live view, one line per scenario redrawn in place, then the summary.
	screen, raw := tmuxRun(t, "unset CI\n"+run)
	assert.Contains(t, screen, "exit status 0")
	assert.Contains(t, raw, "\x1b[?25l", "the view hid the cursor while drawing")
	assert.Contains(t, raw, "⠋", "a spinner was drawn")
	assert.Contains(t, raw, "install 1.0.0", "the step in progress was shown")
	for _, s := range scenarios {
		assert.Equal(t, 1, countLines(screen, "✓ "+s), "%s: one line, drawn in place, ending passed:\n%s", s, screen)
	}
	assert.Contains(t, screen, "upgrade test PASSED: hello 1.1.0 from 1.0.0")
	assert.Less(t, strings.Index(screen, "✓ "+scenarios[0]), strings.Index(screen, "upgrade test PASSED"), "the summary comes after the view")
	assert.NotContains(t, screen, "level=INFO", "human log lines on a terminal")

	// CI=true on a terminal: no view, the plain log lines CI logs have.
	screen, raw = tmuxRun(t, "export CI=true\n"+run)
	assert.Contains(t, screen, "exit status 0")
	assert.NotContains(t, raw, "\x1b[?25l")
	assert.NotContains(t, raw, "⠋")
	assert.Contains(t, screen, "level=INFO msg=step")
	assert.Contains(t, screen, "upgrade test PASSED")

	// --output json with the view on stderr: stdout is the report, unchanged.
	jsonOut := filepath.Join(dir, "report.json")
	screen, raw = tmuxRun(t, "unset CI\n"+strings.Replace(run, " upgrade-test ", " --output json upgrade-test ", 1)+" > "+jsonOut)
	assert.Contains(t, screen, "exit status 0")
	assert.Contains(t, raw, "⠋")
	data, err := os.ReadFile(jsonOut)
	require.NoError(t, err)
	var rep struct {
		Passed    bool
		Scenarios []struct{ Name string }
	}
	require.NoError(t, json.Unmarshal(data, &rep), "stdout is JSON only: %s", data)
	assert.True(t, rep.Passed)
	assert.Len(t, rep.Scenarios, 2)
}

func abs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	require.NoError(t, err)
	return a
}

func countLines(screen, prefix string) int {
	n := 0
	for _, l := range strings.Split(screen, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			n++
		}
	}
	return n
}
