package admin

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
)

// maxBody bounds a request's body: admin arguments are small.
const maxBody = 1 << 20

// Server serves the admin API over HTTP.
type Server struct {
	users   []User
	cluster Cluster
	modules map[string]Module
	log     *slog.Logger
	mux     *http.ServeMux
}

// NewServer serves the built-in modules over cluster, and the extra modules a
// game adds (which may replace a built-in of the same name).
func NewServer(users []User, cluster Cluster, log *slog.Logger, extra ...Module) *Server {
	s := &Server{users: users, cluster: cluster, modules: map[string]Module{}, log: log, mux: http.NewServeMux()}
	for _, m := range append(builtins(cluster), extra...) {
		s.modules[m.Name] = m
	}
	s.mux.HandleFunc("GET /api/v1/modules", s.listModules)
	s.mux.HandleFunc("POST /api/v1/modules/{name}", func(w http.ResponseWriter, r *http.Request) {
		s.call(w, r, r.PathValue("name"), nil)
	})
	// REST spellings of the built-in modules, for curl and scripts.
	s.mux.HandleFunc("GET /api/v1/servers", func(w http.ResponseWriter, r *http.Request) { s.call(w, r, "servers", []byte("{}")) })
	s.mux.HandleFunc("POST /api/v1/servers", func(w http.ResponseWriter, r *http.Request) { s.call(w, r, "add", nil) })
	s.mux.HandleFunc("POST /api/v1/servers/{id}/{action}", func(w http.ResponseWriter, r *http.Request) {
		action := r.PathValue("action")
		if !slices.Contains([]string{"kill", "stop", "restart", "drain", "undrain"}, action) {
			writeError(w, Errorf(http.StatusNotFound, "no action %q: use kill, stop, restart, drain or undrain", action))
			return
		}
		args, _ := json.Marshal(map[string]any{"id": r.PathValue("id"), "ids": []string{r.PathValue("id")}})
		s.call(w, r, action, args)
	})
	s.mux.HandleFunc("GET /api/v1/logs/{id}/stream", s.followLogs)
	s.mux.HandleFunc("POST /api/v1/down", func(w http.ResponseWriter, r *http.Request) { s.call(w, r, "down", []byte("{}")) })
	s.mux.HandleFunc("POST /api/v1/masters/{id}/promote", func(w http.ResponseWriter, r *http.Request) {
		args, _ := json.Marshal(map[string]string{"id": r.PathValue("id")})
		s.call(w, r, "promote", args)
	})
	return s
}

// Handle mounts another handler on the admin address (the monitor link).
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// authorize returns the user a request's credentials name, or answers 401
// (and logs the refusal of what was asked).
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, what string) (User, bool) {
	user, ok := s.authenticate(r)
	if !ok {
		s.log.Warn("admin request refused: wrong or missing credentials", "remote", r.RemoteAddr, "module", what)
		w.Header().Set("WWW-Authenticate", `Basic realm="pomeloctl"`)
		writeError(w, Errorf(http.StatusUnauthorized, "wrong or missing credentials: pass --user and --password (or POMELOCTL_USER and POMELOCTL_PASSWORD)"))
		return User{}, false
	}
	return user, true
}

// authenticate returns the user the request's basic credentials name.
func (s *Server) authenticate(r *http.Request) (User, bool) {
	name, pass, ok := r.BasicAuth()
	if !ok {
		return User{}, false
	}
	for _, u := range s.users {
		nameOK := subtle.ConstantTimeCompare([]byte(u.Name), []byte(name)) == 1
		passOK := subtle.ConstantTimeCompare([]byte(u.Password), []byte(pass)) == 1
		if nameOK && passOK {
			return u, true
		}
	}
	return User{}, false
}

func (s *Server) call(w http.ResponseWriter, r *http.Request, name string, args []byte) {
	user, ok := s.authorize(w, r, name)
	if !ok {
		return
	}
	m, ok := s.modules[name]
	if !ok {
		writeError(w, Errorf(http.StatusNotFound, "no admin module %q (GET /api/v1/modules lists them)", name))
		return
	}
	if user.Level > m.Level {
		s.log.Warn("admin request refused: level", "user", user.Name, "level", user.Level, "module", name)
		writeError(w, Errorf(http.StatusForbidden, "user %s (level %d) may only read; %s needs level %d", user.Name, user.Level, name, m.Level))
		return
	}
	if args == nil {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		switch {
		case err != nil:
			writeError(w, Errorf(http.StatusBadRequest, "read the request: %v", err))
			return
		case len(body) > maxBody:
			writeError(w, Errorf(http.StatusRequestEntityTooLarge, "the request is over %d bytes", maxBody))
			return
		case len(strings.TrimSpace(string(body))) == 0:
			body = []byte("{}")
		case !json.Valid(body):
			writeError(w, Errorf(http.StatusBadRequest, "the request body is not JSON"))
			return
		}
		args = body
	}
	res, err := m.Handle(r.Context(), user, args)
	if err != nil {
		if m.Level == LevelAct {
			s.log.Info("admin command failed", "user", user.Name, "module", name, "err", err)
		}
		writeError(w, err)
		return
	}
	if m.Level == LevelAct {
		s.log.Info("admin command", "user", user.Name, "module", name, "args", string(args))
	}
	writeJSON(w, http.StatusOK, map[string]any{"result": res})
}

func (s *Server) listModules(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.authorize(w, r, "modules"); !ok {
		return
	}
	type entry struct {
		Name  string `json:"name"`
		Level int    `json:"level"`
	}
	var list []entry
	for _, m := range s.modules {
		list = append(list, entry{m.Name, m.Level})
	}
	slices.SortFunc(list, func(a, b entry) int { return strings.Compare(a.Name, b.Name) })
	writeJSON(w, http.StatusOK, map[string]any{"result": list})
}

func writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	var ae *Error
	if errors.As(err, &ae) {
		status = ae.Status
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// CheckExposure refuses to serve the admin API beyond loopback while a user still
// has Pomelo's default credentials (admin/admin): anyone could then steer the
// cluster.
func CheckExposure(addr string, users []User) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("admin address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	for _, u := range users {
		if u.Name == "admin" && u.Password == "admin" {
			return fmt.Errorf("refusing to serve the admin API on %s with the default credentials admin/admin: set master.users in the topology (passwords from ${ENV_VAR}), or keep the master on 127.0.0.1", addr)
		}
	}
	return nil
}

// decodeArgs unmarshals a module's arguments, answering 400 when they do not fit.
func decodeArgs(args json.RawMessage, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(args)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Errorf(http.StatusBadRequest, "bad arguments: %v", err)
	}
	return nil
}
