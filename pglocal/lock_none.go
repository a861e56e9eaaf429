//go:build !unix || solaris || aix

package pglocal

import "context"

// lockDir is a no-op where flock is missing; Postgres's own postmaster.pid
// check still keeps a second server off the cluster, only concurrent first-time
// setup from two processes is unguarded.
func lockDir(context.Context, string) (func(), error) { return func() {}, nil }
