package smoke

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"

	"github.com/pomeloctl/pomeloctl/engine/bench"
	"github.com/pomeloctl/pomeloctl/engine/client"
	"github.com/pomeloctl/pomeloctl/topology"
)

// entry is how a scenario's bots get in: the client addresses of its gate
// type's servers, or of its frontend type's, and which server each
// address is.
type entry struct {
	gate     bool
	route    string
	tcp      bool
	addrs    []string          // host:port, in declaration order
	servers  map[string]string // host:port → server id, of every frontend
	loginMsg program
}

func newEntry(t *topology.Topology, sc *scenario) (*entry, error) {
	lg := sc.spec.Login
	typ := lg.Frontend
	e := &entry{gate: lg.Gate != "", route: lg.Route, tcp: sc.spec.Transport == "tcp", servers: map[string]string{}, loginMsg: sc.loginMsg}
	if e.gate {
		typ = lg.Gate
	}
	for _, s := range t.AllServers() {
		if !s.Frontend {
			continue
		}
		for _, host := range []string{s.ClientHost, s.Host} {
			if host != "" {
				e.servers[net.JoinHostPort(host, strconv.Itoa(s.ClientPort))] = s.ID
			}
		}
		if s.Type == typ {
			e.addrs = append(e.addrs, net.JoinHostPort(dialHost(s), strconv.Itoa(s.ClientPort)))
		}
	}
	if len(e.addrs) == 0 {
		return nil, fmt.Errorf("scenario %s: server type %s has no servers to connect to", sc.spec.Name, typ)
	}
	return e, nil
}

// dialHost is where this machine reaches a frontend: its client host, or
// its host.
func dialHost(s *topology.Server) string {
	if s.ClientHost != "" && s.ClientHost != "0.0.0.0" {
		return s.ClientHost
	}
	if s.Host == "" || s.Host == "0.0.0.0" {
		return "127.0.0.1"
	}
	return s.Host
}

func (e *entry) serverAt(addr string) string {
	if id, ok := e.servers[addr]; ok {
		return id
	}
	return addr
}

// frontendFor gives the address bot b connects to: a gate's answer, or
// its share of the frontends.
func (e *entry) frontendFor(ctx context.Context, b *bot, st *stats) (string, error) {
	addr := e.addrs[b.env.Bot.Index%len(e.addrs)]
	if !e.gate {
		return addr, nil
	}
	msg, err := e.loginMsg.Run(&b.env)
	if err != nil {
		return "", fmt.Errorf("login.msg: %w", err)
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return "", fmt.Errorf("login.msg: %w", err)
	}
	g, err := client.Dial(ctx, addr, client.Options{TCP: e.tcp, Type: "pomeloctl-smoke"})
	if err != nil {
		return "", &requestError{fmt.Errorf("connect to the gate %s (%s): %w", e.serverAt(addr), addr, err)}
	}
	defer g.Close()
	st.request()
	rctx, cancel := context.WithTimeout(ctx, topology.DefaultStepTimeout)
	defer cancel()
	resp, err := g.Request(rctx, e.route, body)
	if err == nil {
		err = bench.ReplyError(resp)
	}
	if err != nil {
		return "", &requestError{fmt.Errorf("%s on the gate %s: %w", e.route, e.serverAt(addr), err)}
	}
	var r entryReply
	if err := json.Unmarshal(resp, &r); err != nil || r.Host == "" || r.Port == 0 {
		return "", fmt.Errorf("%s on the gate %s answered %s, not {host, port} of a frontend", e.route, e.serverAt(addr), truncate(string(resp), 200))
	}
	return r.addr(), nil
}
