package release

import (
	"fmt"

	"github.com/chartship/chartship/catalog"
)

// Published is one catalog's publish result with the catalog's name in
// .chartship.yaml and whether it is a test catalog.
type Published struct {
	catalog.Result
	Name string `json:"name,omitempty"`
	Test bool   `json:"test"`
}

// Describe names the catalog for people — `release catalog "oci", oci://…`,
// or the bare URL of one given with --to — and the OCI manifest digest when there is one.
func (p Published) Describe() string {
	s := p.Catalog // a URL given with --to: neither a release nor a test catalog by name
	if p.Name != "" {
		role := "release catalog"
		if p.Test {
			role = "test catalog"
		}
		s = fmt.Sprintf("%s %q, %s", role, p.Name, p.Catalog)
	}
	if p.Manifest != "" {
		s += ", manifest " + p.Manifest
	}
	return s
}
