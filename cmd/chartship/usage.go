package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/suggest"
)

// renamedFlags are flags that had another name (one name meant different
// things in different commands, and so did its environment variable): the old
// name gets a one-line pointer to the new one, never a silent meaning.
var renamedFlags = map[string]map[string]string{
	"publish": {"branch": "catalog-branch"},
	"prune":   {"branch": "catalog-branch"},
	"bump":    {"branch": "bump-branch", "catalog": "app-catalog", "parallel": "bump-parallel"},
}

// wireUsage makes every flag or command mistake one line naming the command, a
// did-you-mean and where the help is, exit 1 (never the whole help on stdout).
func wireUsage(cmd *cli.Command) {
	cmd.OnUsageError = func(_ context.Context, c *cli.Command, err error, _ bool) error {
		return usageError(c, err)
	}
	if len(cmd.Commands) > 0 && cmd.Action == nil {
		cmd.Action = func(_ context.Context, c *cli.Command) error {
			if c.Args().Present() {
				return unknownCommand(c, c.Args().First())
			}
			if c.Root() == c {
				return cli.ShowRootCommandHelp(c)
			}
			return cli.ShowSubcommandHelp(c)
		}
	}
	for _, sub := range cmd.Commands {
		wireUsage(sub)
	}
}

const undefinedFlag = "flag provided but not defined: -"

// usageError turns a parse error of cmd into the one-line error.
func usageError(cmd *cli.Command, err error) error {
	if st := state(cmd); st != nil && st.output == "" && cmd.Root() != cmd {
		st.output = cmd.Root().String("output") // the root's flags were parsed
	}
	path := cmd.FullName()
	help := "see `" + path + " --help`"
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, undefinedFlag); ok {
		name = strings.TrimLeft(name, "-")
		if to := renamedFlags[cmd.Name][name]; to != "" {
			return errdef.Usage(fmt.Errorf("%s: --%s is called --%s now (and reads $%s); %s", path, name, to, envName(to), help))
		}
		hint := ""
		if s := suggest.Closest(name, flagNames(cmd)); s != "" {
			hint = "; did you mean --" + s + "?"
		}
		return errdef.Usage(fmt.Errorf("%s: unknown flag --%s%s %s", path, name, hint, "("+help+")"))
	}
	return errdef.Usage(fmt.Errorf("%s: %s (%s)", path, msg, help))
}

// unknownCommand is the error for `chartship NAME` when NAME is no command of cmd.
func unknownCommand(cmd *cli.Command, name string) error {
	var names []string
	for _, c := range cmd.Commands {
		if !c.Hidden {
			names = append(names, c.Names()...)
		}
	}
	path := cmd.FullName()
	hint := ""
	if s := suggest.Closest(name, names); s != "" {
		hint = "; did you mean " + s + "?"
	}
	return errdef.Usage(fmt.Errorf("%s: unknown command %q%s (see `%s --help`)", path, name, hint, path))
}

func flagNames(cmd *cli.Command) []string {
	var out []string
	for _, c := range cmd.Lineage() {
		for _, f := range c.Flags {
			out = append(out, f.Names()...)
		}
	}
	return out
}
