// Package tui is pomeloctl's terminal UI: a live table of a cluster's
// masters and servers, fed by the master's event stream, with a detail
// view, logs, and the operator's verbs (kill, restart, stop, add,
// promote) behind keys and a command line. It talks to the cluster only
// through the admin API's client: it follows the leader wherever it runs
// through the Connect function it is given.
package tui
