// Package bench is pomeloctl's load generator: clients that speak Pomelo's
// protocol (engine/client) in bounded numbers for a bounded time, with a progress
// line while they run and latency percentiles at the end.
package bench
