package globalchannel

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/internal/nodeclient"
	"github.com/pomeloctl/pomeloctl/internal/redistest"
)

// pluginScript runs npm's pomelo-globalchannel-plugin (its Redis manager,
// as a Pomelo server's globalChannelService uses it) against the Redis at
// addr with Pomelo's default prefix, in a cluster whose frontends are
// connector-server-1 and -2, does what steps says and prints one JSON
// value per step.
func pluginScript(addr, steps string) string {
	host, port, _ := net.SplitHostPort(addr)
	return fmt.Sprintf(`
const Manager = require('pomelo-globalchannel-plugin/lib/manager/redisGlobalChannelManager');
const servers = {'connector-server-1': {id: 'connector-server-1', frontend: true}, 'connector-server-2': {id: 'connector-server-2', frontend: true}, 'chat-server-1': {id: 'chat-server-1'}};
const app = {getServers: () => servers, isFrontend: (s) => !!s.frontend};
const m = new Manager(app, {host: %q, port: %s});
const call = (f, ...args) => new Promise((ok, fail) => f.call(m, ...args, (err, v) => err ? fail(err) : ok(v)));
m.start(async (err) => {
  if (err) { console.error(err); process.exit(2); }
  try { %s } catch (e) { console.error(e); process.exit(1); }
  m.stop(false, () => process.exit(0));
});
`, host, port, steps)
}

// Pomelo's key layout, proven both ways against the same Redis: members
// the plugin adds are read (and would be pushed to) by pomeloctl, members
// pomeloctl adds are read by the plugin, and the plugin's destroy empties
// the channel pomeloctl reads.
func TestPomeloPluginSharesChannels(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	env, err := nodeclient.Setup(ctx)
	if err != nil {
		t.Fatalf("npm's pomelo-globalchannel-plugin under Node: %v", err)
	}
	srv := redistest.Start(t)
	r := dial(t, srv.Addr, "") // Pomelo's default prefix
	sids := []string{"connector-server-1", "connector-server-2"}

	if _, err := env.Eval(ctx, pluginScript(srv.Addr, `
    await call(m.add, 'world', 'p1', 'connector-server-1');
    await call(m.add, 'world', 'p2', 'connector-server-2');`)); err != nil {
		t.Fatal(err)
	}
	members, err := r.Members(ctx, "world", sids)
	if err != nil || !sameSet(members["connector-server-1"], "p1") || !sameSet(members["connector-server-2"], "p2") {
		t.Errorf("what the plugin added, as pomeloctl reads it: %v %v; want p1 on connector-server-1, p2 on connector-server-2", members, err)
	}

	if err := r.Add(ctx, "world", "g1", "connector-server-2"); err != nil {
		t.Fatal(err)
	}
	out, err := env.Eval(ctx, pluginScript(srv.Addr, `
    console.log(JSON.stringify(await call(m.getMembersBySid, 'world', 'connector-server-2')));
    await call(m.leave, 'world', 'p2', 'connector-server-2');`))
	if err != nil {
		t.Fatal(err)
	}
	var read []string
	if err := json.Unmarshal([]byte(strings.TrimSpace(string(out))), &read); err != nil || !sameSet(read, "g1", "p2") {
		t.Errorf("what pomeloctl added, as the plugin reads it: %s (%v); want g1 and p2", out, err)
	}
	members, _ = r.Members(ctx, "world", sids)
	if !sameSet(members["connector-server-2"], "g1") {
		t.Errorf("after the plugin's leave: %v; want g1 alone on connector-server-2", members)
	}

	if _, err := env.Eval(ctx, pluginScript(srv.Addr, `await call(m.destroyChannel, 'world');`)); err != nil {
		t.Fatal(err)
	}
	if members, _ := r.Members(ctx, "world", sids); len(members) != 0 {
		t.Errorf("after the plugin destroyed the channel: %v; want none", members)
	}
}
