// Package master runs a cluster: it launches every server of a topology as
// its own process, supervises each through its lifecycle.Machine, keeps the
// monitor link to each (the monitor Hub), and serves the admin API that the
// CLI and the TUI steer it through.
//
// One goroutine, the run loop, owns every machine and every decision, in
// the order the facts arrived: process exits, monitor events, timers and
// admin requests all reach it as messages. Servers outlive the master (own
// session, logs straight to files, pid and start time in the run
// directory), so a master that starts where another died adopts the
// servers still running instead of launching duplicates.
package master
