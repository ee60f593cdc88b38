package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v3"

	"github.com/chartship/chartship/catalog/gitrepo"
	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/git"
)

// Environment variables that carry git credentials. They are read from the
// environment only, never from flags, so secrets stay off command lines.
const (
	envGitToken     = "CHARTSHIP_GIT_TOKEN" // wins over GITHUB_TOKEN
	envGitHubToken  = "GITHUB_TOKEN"
	envSSHKeyBase64 = "CHARTSHIP_SSH_KEY_BASE64" // a private key, base64 (as CircleCI stores it)
)

const gitUsernameUsage = "user name for git over HTTPS (default x-access-token); the token comes from $" + envGitToken + " or $" + envGitHubToken

// gitFlags are the flags of commands that write to git-hosted catalogs.
func gitFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "index-url", Usage: "public base URL of a git catalog, where index entries point (default https://ORG.github.io/REPO/ for github.com)"},
		&cli.StringFlag{Name: "catalog-branch", Usage: "branch of git catalogs (default: the remote's default branch)"},
		&cli.StringFlag{Name: "ssh-key", Usage: "SSH private key file for git+ssh:// catalogs (or the key base64-encoded in $" + envSSHKeyBase64 + ")", TakesFile: true},
		&cli.StringFlag{Name: "git-username", Usage: gitUsernameUsage},
		&cli.IntFlag{Name: "retries", Value: gitrepo.DefaultOptions().Retries, Usage: "how often to retry a push the git remote rejected because other publishers moved the branch, or a transfer that failed or stalled"},
		&cli.DurationFlag{Name: "request-timeout", Value: gitrepo.DefaultOptions().RequestTimeout, Usage: "abandon and retry a git transfer that moves less than a byte a second for this long"},
	}, commitFlags()...)
}

// commitFlags name who makes chartship's commits (git catalogs, GitOps bumps).
func commitFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "commit-author-name", Sources: cli.EnvVars("GIT_AUTHOR_NAME"), Usage: "author of chartship's commits (default chartship)"},
		&cli.StringFlag{Name: "commit-author-email", Sources: cli.EnvVars("GIT_AUTHOR_EMAIL"), Usage: "e-mail of the author of chartship's commits"},
		&cli.StringFlag{Name: "committer-name", Sources: cli.EnvVars("GIT_COMMITTER_NAME"), Usage: "committer of chartship's commits (default: the author)"},
		&cli.StringFlag{Name: "committer-email", Sources: cli.EnvVars("GIT_COMMITTER_EMAIL"), Usage: "e-mail of the committer of chartship's commits"},
		&cli.StringFlag{Name: "commit-signing-key", Usage: "sign chartship's commits with this key: an SSH private key file without a passphrase (or its .pub with ssh-agent), or with --commit-signing-format openpgp a gpg key id ($GNUPGHOME)", TakesFile: true},
		&cli.StringFlag{Name: "commit-signing-format", Usage: "format of --commit-signing-key: ssh or openpgp (default ssh)"},
	}
}

// commitSigning reads the commit signing flags (zero: unsigned commits) and
// signs a throwaway commit with the key, so a key git can't use fails at once.
func commitSigning(cmd *cli.Command) (git.Signing, error) {
	s := git.Signing{Key: cmd.String("commit-signing-key"), Format: cmd.String("commit-signing-format")}
	return s, s.Check(context.Background())
}

// commitIdentities reads the commit flags: author and committer (zero: unset).
func commitIdentities(cmd *cli.Command) (author, committer gitrepo.Identity, err error) {
	author = gitrepo.Identity{Name: cmd.String("commit-author-name"), Email: cmd.String("commit-author-email")}
	committer = gitrepo.Identity{Name: cmd.String("committer-name"), Email: cmd.String("committer-email")}
	for _, id := range []struct {
		flag string
		id   gitrepo.Identity
	}{{"--commit-author", author}, {"--committer", committer}} {
		if (id.id.Name == "") != (id.id.Email == "") {
			return author, committer, errdef.Usage(fmt.Errorf("%s-name and %s-email go together: give both", id.flag, id.flag))
		}
	}
	return author, committer, nil
}

// gitOptions reads the git catalog flags and credentials of cmd.
func gitOptions(cmd *cli.Command) (gitrepo.Options, error) {
	o := gitrepo.DefaultOptions()
	o.IndexURL, o.Branch = cmd.String("index-url"), cmd.String("catalog-branch")
	o.SSHKeyFile, o.Username = cmd.String("ssh-key"), cmd.String("git-username")
	o.Retries = cmd.Int("retries")
	o.RequestTimeout = cmd.Duration("request-timeout")
	var err error
	if o.Author, o.Committer, err = commitIdentities(cmd); err != nil {
		return o, err
	}
	if o.Sign, err = commitSigning(cmd); err != nil {
		return o, err
	}
	if err := o.Validate(); err != nil {
		return o, err
	}
	o.Token = os.Getenv(envGitToken)
	if o.Token == "" {
		o.Token = os.Getenv(envGitHubToken)
	}
	if o.SSHKeyFile != "" {
		if _, err := os.Stat(o.SSHKeyFile); err != nil {
			return o, errdef.Usage(fmt.Errorf("--ssh-key: %w", err))
		}
	}
	if b64 := os.Getenv(envSSHKeyBase64); b64 != "" {
		if o.SSHKeyFile != "" {
			return o, errdef.Usage(errors.New("both --ssh-key and $" + envSSHKeyBase64 + " are set: use one"))
		}
		key, err := git.DecodeSSHKey(b64)
		if err != nil {
			return o, fmt.Errorf("$%s: %w", envSSHKeyBase64, err)
		}
		o.SSHKey = key
	}
	return o, nil
}
