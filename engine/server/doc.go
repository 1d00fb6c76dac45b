// Package server is one server process of a cluster: the components it runs
// (its monitor link to the master, its frontend, its RPC endpoint, a game's own),
// started in order and stopped in reverse, with Pomelo's lifecycle hooks around
// them.
package server
