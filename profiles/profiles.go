// Package profiles holds the stock overlays (dev, ci, prod) so that an installed
// pomeloctl finds them wherever it runs; a profiles/NAME.yaml beside a topology, or
// in the working directory, takes precedence.
package profiles

import "embed"

// FS holds dev.yaml, ci.yaml and prod.yaml.
//
//go:embed *.yaml
var FS embed.FS
