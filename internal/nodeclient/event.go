package nodeclient

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Event kinds the scripts print, in the order a connection usually meets them.
const (
	KindStart         = "start"          // Text: which client, which node
	KindConnect       = "connect"        // a socket is being opened; Text: its URL
	KindHandshakeSent = "handshake-sent" // Body: the handshake JSON the client wrote
	KindHandshake     = "handshake"      // Code, Sys, Body: the server's answer as it arrived
	KindInit          = "init"           // the client's init callback ran: connected
	KindResponse      = "response"       // Route, ID, Body as the client decoded it, Ms
	KindNotify        = "notify"         // Route: a notify was handed to the client
	KindPush          = "push"           // Route, Body as the client decoded it (protobuf or JSON)
	KindKick          = "kick"           // Reason, Body: the kick the client reported
	KindClose         = "close"          // the socket closed; Code/Reason for WebSocket
	KindDisconnect    = "disconnect"     // the scenario called pomelo.disconnect()
	KindHeartbeatIn   = "heartbeat-in"   // a heartbeat package arrived
	KindHeartbeatOut  = "heartbeat-out"  // the client sent one (Reason set if noHeartbeat dropped it)
	KindClientEvent   = "client-event"   // the client emitted one of its own events; Route: its name
	KindLog           = "log"            // the client's console; Reason: level, Text: the line
	KindWarning       = "warning"        // something the client would silently lose; Text says what
	KindIn            = "in"             // trace: a package arrived; Type, Text: hex, Body: message parts
	KindOut           = "out"            // trace: a package was sent
	KindSignal        = "signal"         // Reason: a signal arrived on stdin
	KindError         = "error"          // a step failed; Error
	KindException     = "exception"      // the client code threw; Error: the stack
	KindEnd           = "end"            // last event: Code (exit code), Stats, Storage
)

// Event is one line a harness script printed.
type Event struct {
	Kind string `json:"kind"`
	// At is milliseconds since the script started.
	At float64 `json:"at"`
	// Step is the index of the scenario step that was running, -1 before
	// the first and for the end event.
	Step int `json:"step"`
	// Conn numbers the connections of the run from 1, one per socket opened
	// (an init, or a reconnect of the jsclient).
	Conn  int    `json:"conn,omitempty"`
	Route string `json:"route,omitempty"`
	// ID is the request's message id, as the client numbered it.
	ID   int             `json:"id,omitempty"`
	Body json.RawMessage `json:"body,omitempty"`
	// Code is the handshake answer's code, the WebSocket close code, or the
	// script's exit code on the end event.
	Code   int     `json:"code,omitempty"`
	Reason string  `json:"reason,omitempty"`
	Error  string  `json:"error,omitempty"`
	Text   string  `json:"text,omitempty"`
	Ms     float64 `json:"ms,omitempty"` // request round trip
	Type   int     `json:"type,omitempty"`
	Sys    *Sys    `json:"sys,omitempty"`
	Stats  *Stats  `json:"stats,omitempty"`
	// Storage is the tab's localStorage when the script ended.
	Storage map[string]string `json:"storage,omitempty"`
}

// Sys summarises the sys part of a handshake answer: what the server sent
// and what it left out.
type Sys struct {
	Heartbeat    float64 `json:"heartbeat"`
	Dict         bool    `json:"dict"`
	RouteToCode  bool    `json:"routeToCode"`
	CodeToRoute  bool    `json:"codeToRoute"`
	Protos       bool    `json:"protos"`
	UseDict      bool    `json:"useDict"`
	UseProto     bool    `json:"useProto"`
	DictVersion  string  `json:"dictVersion,omitempty"`
	ProtoVersion string  `json:"protoVersion,omitempty"`
}

// Stats are a run's totals, reported with the end event.
type Stats struct {
	HeartbeatsIn      int `json:"heartbeatsIn"`
	HeartbeatsOut     int `json:"heartbeatsOut"`
	HeartbeatsDropped int `json:"heartbeatsDropped"`
	// FramesIn and PackagesIn count WebSocket frames and the packages in
	// them (TCP has no frames: only PackagesIn); BatchedFrames counts frames
	// with more than one, of which the browser client decodes only the first.
	FramesIn      int `json:"framesIn"`
	PackagesIn    int `json:"packagesIn"`
	BatchedFrames int `json:"batchedFrames"`
	Pushes        int `json:"pushes"`
	Responses     int `json:"responses"`
	Kicks         int `json:"kicks"`
}

// Events is a run's event stream.
type Events []Event

// Of returns the events of kind, in order.
func (es Events) Of(kind string) Events {
	var out Events
	for _, e := range es {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// First returns the first event of kind with route ("" for any route).
func (es Events) First(kind, route string) (Event, bool) {
	for _, e := range es {
		if e.Kind == kind && (route == "" || e.Route == route) {
			return e, true
		}
	}
	return Event{}, false
}

// End returns the end event, absent if the script was killed or crashed.
func (es Events) End() (Event, bool) {
	return es.First(KindEnd, "")
}

// String prints one event a line, for test logs.
func (es Events) String() string {
	var b strings.Builder
	for _, e := range es {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// String prints the event compactly: time, step, kind, then what is set.
func (e Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%9.1fms step %2d %-14s", e.At, e.Step, e.Kind)
	add := func(k string, v any) { fmt.Fprintf(&b, " %s=%v", k, v) }
	if e.Conn != 0 {
		add("conn", e.Conn)
	}
	if e.Route != "" {
		add("route", e.Route)
	}
	if e.ID != 0 {
		add("id", e.ID)
	}
	if e.Code != 0 {
		add("code", e.Code)
	}
	if e.Reason != "" {
		add("reason", e.Reason)
	}
	if e.Type != 0 {
		add("type", e.Type)
	}
	if e.Sys != nil {
		add("sys", fmt.Sprintf("%+v", *e.Sys))
	}
	if e.Stats != nil {
		add("stats", fmt.Sprintf("%+v", *e.Stats))
	}
	if e.Text != "" {
		add("text", e.Text)
	}
	if e.Error != "" {
		add("error", e.Error)
	}
	if len(e.Body) > 0 {
		body := string(e.Body)
		if len(body) > 300 {
			body = body[:300] + "…"
		}
		add("body", body)
	}
	return b.String()
}

// Match returns a predicate for Client.Await: events of kind with route
// ("" for any route).
func Match(kind, route string) func(Event) bool {
	return func(e Event) bool { return e.Kind == kind && (route == "" || e.Route == route) }
}
