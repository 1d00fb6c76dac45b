//go:build !unix

package nodeclient

import "context"

// lockFile does not lock where flock is missing: the install is still safe,
// being built aside and renamed into place, only possibly done twice.
func lockFile(context.Context, string) (func(), error) {
	return func() {}, nil
}
