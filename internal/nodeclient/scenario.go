package nodeclient

// Scenario is what a harness script runs: its steps in order, each waiting
// for the previous one. Run accepts any value that marshals to this shape.
//
// The run ends after the last step (exit 0), at the first failing step that
// is not MayFail (exit 1, with an error event), or when TimeoutMs passes.
type Scenario struct {
	// Client picks the WebSocket client of wsclient.js: "build" (default),
	// pomelo@2.2.7's build.js as chatofpomelo serves it, or "jsclient", npm
	// pomelo-jsclient-websocket@0.1.1 on build.js's protocol and protobuf
	// (localStorage protos cache, protoVersion, reconnect). tcpclient.js
	// ignores it.
	Client string `json:"client,omitempty"`
	// TimeoutMs bounds the whole run; 10 s if zero.
	TimeoutMs int `json:"timeoutMs,omitempty"`
	// Trace adds in/out events with every package's bytes.
	Trace bool `json:"trace,omitempty"`
	// Storage seeds localStorage, as a returning browser has it (the
	// jsclient keeps "protos" there; tcpclient.js keeps "dict" and "protos").
	Storage map[string]string `json:"storage,omitempty"`
	Steps   []Step            `json:"steps"`
}

// Step is one scenario step. Op says which; the other fields are its
// arguments (zero values mean the default):
//
//	init            connect and handshake: Host (127.0.0.1), Port, User;
//	                UseLastResponse takes host and port from the last
//	                response, as chatofpomelo does with the gate's answer;
//	                NoHeartbeat drops the client's heartbeats (to prove the
//	                server times it out); Reconnect, MaxReconnectAttempts
//	                (jsclient only); Sys adds or overrides handshake sys
//	                fields and NoCache leaves out cached dictVersion and
//	                protoVersion (tcpclient.js only).
//	request         Route, Msg ({} if nil); waits for the response
//	notify          Route, Msg
//	waitPush        Route: takes the next push of Route not yet taken,
//	                waiting if none has arrived
//	waitKick        the next kick not yet taken
//	waitDisconnect  the current connection has closed
//	waitHeartbeats  at least In received and Out sent on this connection
//	waitSignal      Client.Signal(Name) has been called (TimeoutMs 30 s,
//	                but Scenario.TimeoutMs still bounds the run)
//	sleep           Ms
//	disconnect      pomelo.disconnect() (returns at once; waitDisconnect
//	                waits for the close)
//	sendRaw         Hex: bytes written as they are (one WebSocket frame)
//	clearStorage    empty localStorage
//
// Waits fail after TimeoutMs (5 s if zero), or at once when the connection
// they need closes or the client throws.
type Step struct {
	Op string `json:"op"`

	Host                 string         `json:"host,omitempty"`
	Port                 int            `json:"port,omitempty"`
	User                 any            `json:"user,omitempty"`
	UseLastResponse      bool           `json:"useLastResponse,omitempty"`
	NoHeartbeat          bool           `json:"noHeartbeat,omitempty"`
	Reconnect            bool           `json:"reconnect,omitempty"`
	MaxReconnectAttempts int            `json:"maxReconnectAttempts,omitempty"`
	Sys                  map[string]any `json:"sys,omitempty"`
	NoCache              bool           `json:"noCache,omitempty"`

	Route string `json:"route,omitempty"`
	Msg   any    `json:"msg,omitempty"`

	In   int    `json:"in,omitempty"`
	Out  int    `json:"out,omitempty"`
	Name string `json:"name,omitempty"`
	Hex  string `json:"hex,omitempty"`
	Ms   int    `json:"ms,omitempty"`

	TimeoutMs int  `json:"timeoutMs,omitempty"`
	MayFail   bool `json:"mayFail,omitempty"`
}
