package main

import (
	"context"
	"fmt"
	"os"

	"github.com/urfave/cli/v3"

	"github.com/chartship/chartship/catalog"
	"github.com/chartship/chartship/config"
	"github.com/chartship/chartship/internal/errdef"
)

// configSetting is one key of .chartship.yaml as a flag value: the file sits
// under the flags (a flag or its environment variable wins).
type configSetting struct {
	key    string   // "upgradeTest.kind.name"
	flag   string   // the flag's name in release (bump spells some differently)
	values []string // a slice flag takes several
}

// configSettings maps the file onto flags.
func configSettings(f *config.File) []configSetting {
	var out []configSetting
	add := func(key, flag string, values ...string) {
		var vs []string
		for _, v := range values {
			if v != "" {
				vs = append(vs, v)
			}
		}
		if len(vs) > 0 {
			out = append(out, configSetting{key: key, flag: flag, values: vs})
		}
	}
	paths := func(ps []string) []string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = f.Path(p)
		}
		return out
	}
	add("devSchema", "dev-schema", f.DevSchema)
	p := f.Package
	add("package.tagPrefix", "tag-prefix", p.TagPrefix)
	add("package.destination", "destination", f.Path(p.Destination))
	add("package.appVersion", "app-version", p.AppVersion)
	add("package.strict", "strict", config.Bool(p.Strict))
	add("package.kubeVersion", "kube-version", p.KubeVersion)
	add("package.catalogBaseURL", "catalog-base-url", p.CatalogBaseURL)
	add("package.repoName", "repo-name", p.RepoName)
	add("package.allowNameMismatch", "allow-name-mismatch", config.Bool(p.AllowNameMismatch))
	r := f.Registry
	add("registry.plainHTTP", "plain-http", config.Bool(r.PlainHTTP))
	add("registry.insecureSkipTLSVerify", "insecure-skip-tls-verify", config.Bool(r.InsecureSkipTLSVerify))
	add("registry.caFile", "ca-file", f.Path(r.CAFile))
	add("registry.retries", "retries", config.Int(r.Retries))
	add("registry.timeout", "registry-timeout", r.Timeout)
	add("registry.azureAuth", "azure-auth", r.AzureAuth)
	add("git.catalogBranch", "catalog-branch", f.Git.CatalogBranch)
	add("git.username", "git-username", f.Git.Username)
	u := f.UpgradeTest
	add("upgradeTest.cluster", "cluster", u.Cluster)
	add("upgradeTest.kubeconfig", "kubeconfig", f.Path(u.Kubeconfig))
	add("upgradeTest.kubeContext", "kube-context", u.KubeContext)
	add("upgradeTest.kind.name", "kind-name", u.Kind.Name)
	add("upgradeTest.kind.nodeImage", "kind-node-image", u.Kind.NodeImage)
	add("upgradeTest.kind.keepCluster", "keep-cluster", config.Bool(u.Kind.KeepCluster))
	add("upgradeTest.kind.loadImages", "load-image", u.Kind.LoadImages...)
	add("upgradeTest.from", "from", u.From)
	add("upgradeTest.fromCatalog", "from-catalog", u.FromCatalog)
	add("upgradeTest.values", "values", paths(u.Values)...)
	add("upgradeTest.set", "set", u.Set...)
	add("upgradeTest.setString", "set-string", u.SetString...)
	add("upgradeTest.setFile", "set-file", u.SetFile...)
	add("upgradeTest.hook", "hook", u.Hook)
	add("upgradeTest.rollbackCheck", "rollback-check", config.Bool(u.RollbackCheck))
	add("upgradeTest.skipTests", "skip-tests", config.Bool(u.SkipTests))
	add("upgradeTest.breaking", "breaking", u.Breaking)
	add("upgradeTest.parallel", "parallel", config.Int(u.Parallel))
	add("upgradeTest.timeout", "timeout", u.Timeout)
	add("upgradeTest.maxRestarts", "max-restarts", config.Int(u.MaxRestarts))
	if s := f.Signing; s.Key != "" {
		add("signing.key", "sign", "true")
		add("signing.key", "key", s.Key)
		add("signing.keyring", "keyring", f.Path(s.Keyring))
		add("signing.passphraseFile", "passphrase-file", f.Path(s.PassphraseFile))
	}
	if !f.Runs("upgrade-test") {
		add("stages", "skip-upgrade-test", "true")
	}
	b := f.Bump
	if f.Runs("bump") {
		add("bump.repos", "bump-repo", b.Repos...)
	}
	add("bump.policy", "bump-policy", b.Policy)
	add("bump.pr", "bump-pr", config.Bool(b.PR))
	add("bump.pushTo", "bump-push-to", b.PushTo)
	add("bump.branch", "bump-branch", b.Branch)
	add("bump.message", "bump-message", b.Message)
	add("bump.allowNone", "bump-allow-none", config.Bool(b.AllowNone))
	add("commits.author.name", "commit-author-name", f.Commits.Author.Name)
	add("commits.author.email", "commit-author-email", f.Commits.Author.Email)
	add("commits.committer.name", "committer-name", f.Commits.Committer.Name)
	add("commits.committer.email", "committer-email", f.Commits.Committer.Email)
	signingKey := f.Commits.SigningKey // a key file, or with openpgp a gpg key id
	if f.Commits.SigningFormat != "openpgp" {
		signingKey = f.Path(signingKey)
	}
	add("commits.signingKey", "commit-signing-key", signingKey)
	add("commits.signingFormat", "commit-signing-format", f.Commits.SigningFormat)
	return out
}

// bumpFlagNames: the bump command spells the release's --bump-* flags without the prefix.
var bumpFlagNames = map[string]string{
	"bump-repo": "repo", "bump-policy": "policy", "bump-pr": "pr", "bump-push-to": "push-to",
	"bump-message": "message", "bump-allow-none": "allow-none",
}

// configCommands are the commands .chartship.yaml sets flags of.
var configCommands = map[string]bool{"package": true, "upgrade-test": true, "publish": true, "release": true, "bump": true, "prune": true}

// wireConfig makes the commands that take .chartship.yaml read it before they run.
func wireConfig(cmd *cli.Command) {
	if action := cmd.Action; action != nil && configCommands[cmd.Name] {
		cmd.Action = func(ctx context.Context, c *cli.Command) error {
			f, err := findConfigFile(c)
			if err != nil {
				return err
			}
			if err := applyConfig(c, f); err != nil {
				return err
			}
			return action(ctx, c)
		}
	}
	for _, sub := range cmd.Commands {
		wireConfig(sub)
	}
}

// findConfigFile loads the file for cmd: from --config-dir when given, else the
// nearest one from the command's directory argument (or .) up to the work tree's root.
func findConfigFile(cmd *cli.Command) (*config.File, error) {
	dir := ""
	if hasFlag(cmd, "config-dir") {
		dir = cmd.String("config-dir")
	}
	start := "."
	if a := cmd.Args().First(); a != "" {
		if fi, err := os.Stat(a); err == nil && fi.IsDir() {
			start = a
		}
	}
	return configFile(dir, start)
}

// configFile loads .chartship.yaml from dir when given, else the nearest one
// from start up to the root of its git work tree.
func configFile(dir, start string) (*config.File, error) {
	if dir != "" {
		return config.Load(dir)
	}
	return config.Find(start)
}

// applyConfig sets the flags of cmd that the file sets and the command line and
// environment don't.
func applyConfig(cmd *cli.Command, f *config.File) error {
	for _, s := range configSettings(f) {
		name := s.flag
		if cmd.Name == "bump" {
			if n, ok := bumpFlagNames[name]; ok {
				name = n
			}
		}
		if !hasFlag(cmd, name) || cmd.IsSet(name) {
			continue
		}
		for _, v := range s.values {
			if err := cmd.Set(name, v); err != nil {
				return errdef.Usage(fmt.Errorf("%s: %s: %v", f.Path(config.FileName), s.key, err))
			}
		}
	}
	return nil
}

func hasFlag(cmd *cli.Command, name string) bool {
	for _, fl := range cmd.Flags {
		for _, n := range fl.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

// loadConfig reads the catalogs of the .chartship.yaml configFile finds.
func loadConfig(dir, start string) (*catalog.Config, error) {
	f, err := configFile(dir, start)
	if err != nil {
		return nil, err
	}
	return f.CatalogConfig(), nil
}
