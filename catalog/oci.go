package catalog

import (
	"fmt"

	"github.com/chartship/chartship/internal/errdef"
)

// OCIOptions configure OCI registries. (Placeholder until the OCI catalog lands.)
type OCIOptions struct{}

func openOCI(ref string, _ Options) (Catalog, error) {
	return nil, errdef.Usage(fmt.Errorf("catalog %s: OCI catalogs are not available in this build", ref))
}
