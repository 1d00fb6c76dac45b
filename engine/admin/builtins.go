package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
)

// builtins are the commands of `pomeloctl ls, kill, stop, restart, add, logs, down, promote`.
func builtins(c Cluster) []Module {
	type idArgs struct {
		ID  string   `json:"id"`
		IDs []string `json:"ids"`
	}
	one := func(name string, do func(context.Context, string) error) Module {
		return Module{Name: name, Level: LevelAct, Handle: func(ctx context.Context, _ User, raw json.RawMessage) (any, error) {
			var a idArgs
			if err := decodeArgs(raw, &a); err != nil {
				return nil, err
			}
			if a.ID == "" {
				return nil, Errorf(http.StatusBadRequest, "%s: name the server (id)", name)
			}
			return map[string]string{"id": a.ID}, do(ctx, a.ID)
		}}
	}
	return []Module{
		{Name: "servers", Level: LevelRead, Handle: func(ctx context.Context, _ User, _ json.RawMessage) (any, error) {
			return c.Servers(ctx)
		}},
		one("kill", c.Kill),
		one("promote", c.Promote),
		one("restart", c.Restart),
		{Name: "stop", Level: LevelAct, Handle: func(ctx context.Context, _ User, raw json.RawMessage) (any, error) {
			var a idArgs
			if err := decodeArgs(raw, &a); err != nil {
				return nil, err
			}
			return map[string][]string{"ids": a.IDs}, c.Stop(ctx, a.IDs) // no ids: every server
		}},
		{Name: "apply", Level: LevelAct, Handle: func(ctx context.Context, _ User, raw json.RawMessage) (any, error) {
			var a ApplyRequest
			if err := decodeArgs(raw, &a); err != nil {
				return nil, err
			}
			if a.File == "" || a.Source == "" {
				return nil, Errorf(http.StatusBadRequest, "apply: send the topology (file and source)")
			}
			return map[string][]string{"ids": a.IDs}, c.Apply(ctx, a)
		}},
		{Name: "revert", Level: LevelAct, Handle: func(ctx context.Context, _ User, raw json.RawMessage) (any, error) {
			var a idArgs
			if err := decodeArgs(raw, &a); err != nil {
				return nil, err
			}
			if len(a.IDs) == 0 {
				return nil, Errorf(http.StatusBadRequest, "revert: name the servers (ids)")
			}
			return map[string][]string{"ids": a.IDs}, c.Revert(ctx, a.IDs)
		}},
		{Name: "kick", Level: LevelAct, Handle: func(ctx context.Context, _ User, raw json.RawMessage) (any, error) {
			var a struct {
				IDs    []string `json:"ids"`
				Reason string   `json:"reason"`
			}
			if err := decodeArgs(raw, &a); err != nil {
				return nil, err
			}
			if len(a.IDs) == 0 || a.Reason == "" {
				return nil, Errorf(http.StatusBadRequest, "kick: name the frontends (ids) and say why (reason): their players read it")
			}
			return map[string][]string{"ids": a.IDs}, c.Kick(ctx, a.IDs, a.Reason)
		}},
		{Name: "note", Level: LevelAct, Handle: func(ctx context.Context, _ User, raw json.RawMessage) (any, error) {
			var a struct {
				Text string `json:"text"`
			}
			if err := decodeArgs(raw, &a); err != nil {
				return nil, err
			}
			if a.Text == "" {
				return nil, Errorf(http.StatusBadRequest, "note: say something (text)")
			}
			return map[string]bool{"posted": true}, c.Note(ctx, a.Text)
		}},
		drain("drain", true, c.Drain),
		drain("undrain", false, c.Drain),
		{Name: "add", Level: LevelAct, Handle: func(ctx context.Context, _ User, raw json.RawMessage) (any, error) {
			var a AddRequest
			if err := decodeArgs(raw, &a); err != nil {
				return nil, err
			}
			if a.Type == "" {
				return nil, Errorf(http.StatusBadRequest, "add: name the server type (type)")
			}
			return c.Add(ctx, a)
		}},
		{Name: "master", Level: LevelRead, Handle: func(ctx context.Context, _ User, _ json.RawMessage) (any, error) {
			return c.Info(ctx)
		}},
		{Name: "whoami", Level: LevelRead, Handle: func(_ context.Context, u User, _ json.RawMessage) (any, error) {
			return Whoami{Name: u.Name, Level: u.Level}, nil
		}},
		{Name: "config", Level: LevelRead, Handle: func(ctx context.Context, _ User, raw json.RawMessage) (any, error) {
			var a struct {
				ID string `json:"id"`
			}
			if err := decodeArgs(raw, &a); err != nil {
				return nil, err
			}
			if a.ID == "" {
				return nil, Errorf(http.StatusBadRequest, "config: name the server (id)")
			}
			return c.Config(ctx, a.ID)
		}},
		{Name: "logs", Level: LevelRead, Handle: func(ctx context.Context, _ User, raw json.RawMessage) (any, error) {
			var a LogRequest
			if err := decodeArgs(raw, &a); err != nil {
				return nil, err
			}
			if a.ID == "" {
				return nil, Errorf(http.StatusBadRequest, "logs: name the server (id), or master")
			}
			return c.Logs(ctx, a)
		}},
		{Name: "down", Level: LevelAct, Handle: func(ctx context.Context, _ User, _ json.RawMessage) (any, error) {
			return map[string]bool{"down": true}, c.Down(ctx)
		}},
	}
}

// drain is the drain and undrain modules: frontends named by ids.
func drain(name string, on bool, do func(context.Context, []string, bool) error) Module {
	return Module{Name: name, Level: LevelAct, Handle: func(ctx context.Context, _ User, raw json.RawMessage) (any, error) {
		var a struct {
			ID  string   `json:"id"` // one, as the REST spelling names it
			IDs []string `json:"ids"`
		}
		if err := decodeArgs(raw, &a); err != nil {
			return nil, err
		}
		if a.ID != "" && !slices.Contains(a.IDs, a.ID) {
			a.IDs = append(a.IDs, a.ID)
		}
		if len(a.IDs) == 0 {
			return nil, Errorf(http.StatusBadRequest, "%s: name the frontends (ids)", name)
		}
		return map[string][]string{"ids": a.IDs}, do(ctx, a.IDs, on)
	}}
}
