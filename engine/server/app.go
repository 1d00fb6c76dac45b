package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// App is a game's code, for every server type: what a game written with
// the Go API hands the engine. Since one program holds every type's
// handlers, every process knows every route.
type App struct {
	handlers map[string]Handler
}

// Handler handles a client route on a backend ("chat.chatHandler.send"),
// reached through a frontend. Its result is the response body (marshalled
// to JSON; json.RawMessage as it is), and an error answers the client with
// code 500 and the error's words.
type Handler func(ctx context.Context, s *BackendSession, msg json.RawMessage) (any, error)

// NewApp returns an App with no handlers.
func NewApp() *App { return &App{handlers: map[string]Handler{}} }

// Handle registers h for route, "type.handler.method".
func (a *App) Handle(route string, h Handler) {
	if strings.Count(route, ".") != 2 {
		panic(fmt.Sprintf("server: route %q is not type.handler.method", route))
	}
	a.handlers[route] = h
}

func (a *App) handler(route string) Handler {
	if a == nil {
		return nil
	}
	return a.handlers[route]
}

// BackendSession is a client's session as a backend sees it: a copy taken
// by the frontend when it forwarded the request (Pomelo's BackendSession).
type BackendSession struct {
	id         int64
	frontendID string
	uid        string
	settings   map[string]any
}

// ID is the session's id on its frontend.
func (s *BackendSession) ID() int64 { return s.id }

// FrontendID is the frontend that holds the client's connection.
func (s *BackendSession) FrontendID() string { return s.frontendID }

// UID is the user bound to the session, or "" before login.
func (s *BackendSession) UID() string { return s.uid }

// Get returns the setting stored under key, as the frontend had it.
func (s *BackendSession) Get(key string) any { return s.settings[key] }
