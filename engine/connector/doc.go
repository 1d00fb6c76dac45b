// Package connector is a frontend server's client side: it accepts Pomelo clients
// over WebSocket and raw TCP on one port (told apart by their first bytes, as
// Pomelo's hybrid connector does), runs the handshake, heartbeats and kicks of
// Pomelo's protocol, keeps a Session per client, and dispatches requests and
// notifies to handlers.
//
// Each connection has one reader goroutine; a writer goroutine runs only while
// there is something to write. Writes go through a bounded queue that the writer
// drains in batches (one system call per batch over TCP; over WebSocket one
// message per package, since Pomelo's browser client decodes only the first
// package of a message), and a client that cannot keep up is kicked rather than
// allowed to grow the server's memory without limit.
package connector
