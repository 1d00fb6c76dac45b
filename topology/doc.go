// Package topology loads a pomeloctl topology: the one YAML file that declares a
// whole cluster (master, HA, global channels, server types and their instances).
//
// Loading is strict and positional. The file (and any profile overlays merged over
// it) is parsed into yaml.v3 nodes, so that every problem — an unknown key, a wrong
// type, a port out of range, a router expression that does not compile — is reported
// with file:line:col, all of them at once, as an ErrorList. Defaults are then
// applied, clusters expanded into servers with Pomelo's ids and "N++" ports, and the
// result cross-checked (duplicate ids, two servers on one host:port, CPUs this
// machine does not have).
//
// The sub-package pomelo adapts a Pomelo project's JSON configuration into a
// topology file.
package topology
