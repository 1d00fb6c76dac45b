// Package proc starts and tracks the OS processes of a cluster's servers: each in
// its own session and process group (so that it outlives the master, and a kill
// reaches its children too), with its output going straight to its own log file
// (never a pipe the master holds), pinned to its CPUs before it runs its first
// instruction, and known by pid and start time (so that a reused pid is never
// taken for the server).
package proc
