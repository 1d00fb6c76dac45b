// Package metrics is what a cluster's processes tell Prometheus. A server
// counts its requests and their latency per route, its clients'
// connections, its pushes, its RPC calls and their errors, and its
// channels' sizes (Server); a master counts its servers by state, their
// restarts, its failovers and the operators' actions (Master). Each process
// keeps its figures in a registry of its own, served at /metrics by its
// HTTP endpoint (Endpoint) on http.host and its httpPort.
//
// The hot paths (a request, a push, an RPC call) pay a map read and an
// atomic add or two: every child of a labelled metric that they touch is
// made once and kept, never looked up by its labels per event.
// docs/metrics.md lists every metric.
package metrics
