// Package admin is the master's admin API — JSON over HTTP, with Pomelo's admin
// users and levels — and the Go client that is the only door to it: the CLI
// uses it, and the terminal UI.
//
// Every command is an admin module (Pomelo's word): a named handler with the
// level a user needs to call it. The built-in commands (servers, kill, stop,
// restart, add, down) are modules like any a game adds.
package admin
