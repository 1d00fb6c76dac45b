package scripting

// Session is the session a request arrived on, as a router sees it.
type Session struct {
	ID         int64          `expr:"id"`
	UID        string         `expr:"uid"` // empty until the session is bound to a user
	FrontendID string         `expr:"frontendId"`
	Settings   map[string]any `expr:"settings"`

	// Get returns the setting stored under its one argument, a key, or nil;
	// when it is nil, Pick reads Settings instead. It is a field rather than
	// a method because expr exposes methods only under their Go names, and
	// routers written for Pomelo say session.get("rid"); and variadic,
	// because expr calls a func(...any) any without reflection (a tenth of
	// a router's time otherwise).
	Get func(key ...any) any `expr:"get"`
}

// getter reads settings by a key given as Get's one argument.
func getter(settings map[string]any) func(...any) any {
	return func(key ...any) any {
		if len(key) != 1 {
			return nil
		}
		k, _ := key[0].(string)
		return settings[k]
	}
}

// NewSession returns a session whose get reads settings.
func NewSession(id int64, uid, frontendID string, settings map[string]any) Session {
	return Session{
		ID:         id,
		UID:        uid,
		FrontendID: frontendID,
		Settings:   settings,
		Get:        getter(settings),
	}
}

// Server is one server a request may be routed to.
type Server struct {
	ID         string         `expr:"id"`
	Type       string         `expr:"type"`
	Host       string         `expr:"host"`
	Port       int            `expr:"port"`
	ClientHost string         `expr:"clientHost"`
	ClientPort int            `expr:"clientPort"`
	Frontend   bool           `expr:"frontend"`
	Settings   map[string]any `expr:"settings"`
	// State is "running" for a server that takes requests; for one the
	// topology declares that does not, "restarting" (a request routed to
	// it waits for it, within its restart.wait) or "stopped" (stopped by an
	// operator, or given up on: a request routed to it fails at once).
	State string `expr:"state"`
}

// RouterEnv is what a router expression sees.
type RouterEnv struct {
	Session Session        `expr:"session"`
	Msg     map[string]any `expr:"msg"`     // the request body
	Route   string         `expr:"route"`   // e.g. "chat.chatHandler.send"
	Servers []Server       `expr:"servers"` // the candidates of the type, in id order
}
