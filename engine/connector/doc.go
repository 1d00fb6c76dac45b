// Package connector is a frontend server's client side: it accepts Pomelo clients
// over WebSocket and raw TCP on one port (told apart by their first bytes, as
// Pomelo's hybrid connector does), runs the handshake, heartbeats and kicks of
// Pomelo's protocol, keeps a Session per client, and dispatches requests and
// notifies to handlers.
//
// Each connection has one reader goroutine and one writer goroutine. Writes go
// through a bounded queue that the writer drains in batches, so that many small
// pushes become one system call, and a client that cannot keep up is kicked
// rather than allowed to grow the server's memory without limit.
package connector
