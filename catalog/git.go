package catalog

import (
	"fmt"

	"github.com/chartship/chartship/internal/errdef"
	"github.com/chartship/chartship/internal/redact"
)

// GitOptions configure git-hosted catalogs. (Placeholder until the git catalog lands.)
type GitOptions struct{}

func openGit(ref string, _ Options) (Catalog, error) {
	return nil, errdef.Usage(fmt.Errorf("catalog %s: git catalogs are not available in this build", redact.URL(ref)))
}

func openHTTP(ref string, _ Options) (Catalog, error) {
	return nil, errdef.Usage(fmt.Errorf("catalog %s: Helm repositories over HTTP are not available in this build", redact.URL(ref)))
}
