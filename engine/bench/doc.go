// Package bench is pomeloctl's load generator: clients that speak Pomelo's
// protocol (engine/client) in bounded numbers for a bounded time, reporting their
// progress while they run and latency percentiles at the end.
package bench
