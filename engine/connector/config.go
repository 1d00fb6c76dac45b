package connector

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/protocol"
	"github.com/pomeloctl/pomeloctl/engine/protocol/protobuf"
)

// Config is what a frontend needs to serve clients. The zero value of each field
// is a usable default where one exists.
type Config struct {
	// ServerID and ServerType name this frontend; requests for ServerType's routes
	// are handled here.
	ServerID   string
	ServerType string
	// Addr is the host:port to listen on.
	Addr string
	// WebSocket and TCP say which transports are accepted; both false means both.
	WebSocket, TCP bool
	// Heartbeat is the interval the handshake tells clients; a client silent for
	// twice as long is dropped. 0 turns heartbeats off.
	Heartbeat time.Duration
	// MaxConnections caps concurrent clients; 0 is no cap.
	MaxConnections int
	// MaxPackageSize caps a package's body, checked from its header before any
	// allocation. 0 is 64 KiB.
	MaxPackageSize int
	// WriteQueue is how many packages may wait to be written to one client before
	// it is kicked for not keeping up. 0 is 512.
	WriteQueue int
	// FlushInterval, when set, lets a push wait up to this long for the
	// pushes that follow it, so that they reach the client in one write
	// (Pomelo's buffered push scheduler). Replies never wait. 0 writes each
	// push at once.
	FlushInterval time.Duration
	// HandshakeTimeout bounds how long a new connection may take to handshake.
	// 0 is 10s.
	HandshakeTimeout time.Duration
	// Dict compresses routes when set (useDict).
	Dict *protocol.Dictionary
	// ServerProtos and ClientProtos turn on pomelo-protobuf bodies (useProtobuf)
	// when either is set.
	ServerProtos, ClientProtos *protobuf.Protos
	// CheckClient, when set, refuses a client type and version with code 501.
	CheckClient func(clientType, version string) bool
	// Handshake, when set, sees the client's user handshake data and answers the
	// user part of the response; an error refuses the client with code 500.
	Handshake func(ctx context.Context, s *Session, user json.RawMessage) (json.RawMessage, error)
	// SingleSession kicks a uid's older session when a new one binds the uid.
	SingleSession bool
	// OnHandled, when set, is called after each request or notify with its
	// route, how long it took to answer (an asynchronous handler's answer
	// included) and the handler's error (nil on success): the server's
	// request counts and latencies. It must be quick; it runs on the
	// client's connection, or where an asynchronous handler answers.
	OnHandled func(route string, took time.Duration, err error)
	Logger    *slog.Logger
}

const (
	defaultMaxPackageSize   = 64 << 10
	defaultWriteQueue       = 512
	defaultHandshakeTimeout = 10 * time.Second
)

func (c *Config) withDefaults() Config {
	out := *c
	if !out.WebSocket && !out.TCP {
		out.WebSocket, out.TCP = true, true
	}
	if out.MaxPackageSize <= 0 {
		out.MaxPackageSize = defaultMaxPackageSize
	}
	if out.WriteQueue <= 0 {
		out.WriteQueue = defaultWriteQueue
	}
	if out.HandshakeTimeout <= 0 {
		out.HandshakeTimeout = defaultHandshakeTimeout
	}
	if out.Logger == nil {
		out.Logger = slog.Default()
	}
	return out
}

func (c *Config) useProtobuf() bool { return c.ServerProtos != nil || c.ClientProtos != nil }
