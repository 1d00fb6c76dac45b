package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// DefaultTimeout bounds a call whose context has no deadline: long enough
// for a command that waits for a server to stop (15s) or start.
const DefaultTimeout = 30 * time.Second

// downTimeout bounds Down, which stops every frontend, then every backend.
const downTimeout = 2 * time.Minute

// Client calls a master's admin API.
type Client struct {
	base     string
	user     string
	password string
	http     *http.Client
}

// NewClient returns a client of the master at addr (host:port).
func NewClient(addr, user, password string) *Client {
	return &Client{base: "http://" + addr, user: user, password: password, http: &http.Client{}}
}

// Call runs admin module name with args (marshalled to JSON) and decodes its
// result into out (when not nil). Failures wrap ErrUnauthorized, ErrForbidden,
// ErrNotFound, ErrBadRequest or ErrConflict where the status says so.
func (c *Client) Call(ctx context.Context, name string, args, out any) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	body, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("admin %s: %w", name, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/v1/modules/"+name, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("admin %s: %w", name, err)
	}
	req.SetBasicAuth(c.user, c.password)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("admin %s: is the master running? %w", name, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("admin %s: %w", name, err)
	}
	var answer struct {
		Result json.RawMessage `json:"result"`
		Error  string          `json:"error"`
	}
	if err := json.Unmarshal(data, &answer); err != nil {
		return fmt.Errorf("admin %s: the master answered %s with something that is not JSON", name, resp.Status)
	}
	if resp.StatusCode != http.StatusOK {
		if s := sentinel(resp.StatusCode); s != nil {
			return fmt.Errorf("admin %s: %s: %w", name, answer.Error, s)
		}
		return fmt.Errorf("admin %s: %s (%s)", name, answer.Error, resp.Status)
	}
	if out != nil {
		if err := json.Unmarshal(answer.Result, out); err != nil {
			return fmt.Errorf("admin %s: decode the result: %w", name, err)
		}
	}
	return nil
}

// Servers lists every server.
func (c *Client) Servers(ctx context.Context) ([]ServerStatus, error) {
	var out []ServerStatus
	return out, c.Call(ctx, "servers", struct{}{}, &out)
}

// Kill sends SIGKILL to a server's process group.
func (c *Client) Kill(ctx context.Context, id string) error {
	return c.Call(ctx, "kill", map[string]string{"id": id}, nil)
}

// Stop stops servers gracefully; no ids stops every server.
func (c *Client) Stop(ctx context.Context, ids ...string) error {
	return c.Call(ctx, "stop", map[string][]string{"ids": ids}, nil)
}

// Apply makes servers take their settings from another topology at their
// next start (a rollout's).
func (c *Client) Apply(ctx context.Context, req ApplyRequest) error {
	return c.Call(ctx, "apply", req, nil)
}

// Revert makes servers start again from what they ran before Apply.
func (c *Client) Revert(ctx context.Context, ids ...string) error {
	return c.Call(ctx, "revert", map[string][]string{"ids": ids}, nil)
}

// KickPlayers makes frontends kick every client with reason.
func (c *Client) KickPlayers(ctx context.Context, reason string, ids ...string) error {
	return c.Call(ctx, "kick", map[string]any{"ids": ids, "reason": reason}, nil)
}

// Note posts a line to everyone watching the event stream (pomeloctl tui).
func (c *Client) Note(ctx context.Context, text string) error {
	return c.Call(ctx, "note", map[string]string{"text": text}, nil)
}

// Drain takes frontends out of the gates' rotation; Undrain puts them back.
func (c *Client) Drain(ctx context.Context, ids ...string) error {
	return c.Call(ctx, "drain", map[string][]string{"ids": ids}, nil)
}

// Undrain puts drained frontends back into the gates' rotation.
func (c *Client) Undrain(ctx context.Context, ids ...string) error {
	return c.Call(ctx, "undrain", map[string][]string{"ids": ids}, nil)
}

// Restart restarts a server.
func (c *Client) Restart(ctx context.Context, id string) error {
	return c.Call(ctx, "restart", map[string]string{"id": id}, nil)
}

// Add starts a new server at runtime.
func (c *Client) Add(ctx context.Context, req AddRequest) (ServerStatus, error) {
	var out ServerStatus
	return out, c.Call(ctx, "add", req, &out)
}

// Down stops the whole cluster, master included.
func (c *Client) Down(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, downTimeout)
		defer cancel()
	}
	return c.Call(ctx, "down", struct{}{}, nil)
}

// Promote hands the lead to the standby master id.
func (c *Client) Promote(ctx context.Context, id string) error {
	return c.Call(ctx, "promote", map[string]string{"id": id}, nil)
}

// Logs reads part of a server's log.
func (c *Client) Logs(ctx context.Context, req LogRequest) (LogChunk, error) {
	var out LogChunk
	return out, c.Call(ctx, "logs", req, &out)
}

// Info describes the master.
func (c *Client) Info(ctx context.Context) (MasterInfo, error) {
	var out MasterInfo
	return out, c.Call(ctx, "master", struct{}{}, &out)
}

// Whoami is the user this client calls the master as, with its level.
func (c *Client) Whoami(ctx context.Context) (Whoami, error) {
	var out Whoami
	return out, c.Call(ctx, "whoami", struct{}{}, &out)
}

// Config is server id's resolved configuration (secrets redacted), as
// JSON.
func (c *Client) Config(ctx context.Context, id string) (json.RawMessage, error) {
	var out json.RawMessage
	return out, c.Call(ctx, "config", map[string]string{"id": id}, &out)
}
