package topology

import (
	"path/filepath"
	"time"
)

// Defaults, as documented in docs/topology.md. They follow Pomelo where Pomelo has a
// value (master on 127.0.0.1:3005, ZooKeeper on 127.0.0.1:2181 under /pomelo/master,
// no auto-restart) and supervisord/systemd habits where it has none.
const (
	DefaultMasterID   = "master-server-1"
	DefaultHost       = "127.0.0.1"
	DefaultMasterPort = 3005
	DefaultZookeeper  = "127.0.0.1:2181"
	// ManagedZookeeperPort is where a managed ZooKeeper (zookeeper:
	// managed) listens, before portOffset: apart from 2181, where a
	// developer's own ZooKeeper may run.
	ManagedZookeeperPort  = 2281
	DefaultHAPath         = "/pomelo/master"
	DefaultSessionTimeout = Duration(5 * time.Second)
	DefaultRedis          = "127.0.0.1:6379"
	// ManagedRedisPort is where a managed Redis (globalChannel.redis:
	// managed) listens, before portOffset: apart from 6379, where a
	// developer's own Redis may run.
	ManagedRedisPort      = 6479
	DefaultChannelPrefix  = "POMELO:CHANNEL" // pomelo-globalchannel-plugin's
	DefaultMaxPackageSize = Size(64 << 10)
	// MaxPackageSizeLimit is the largest body a 3-byte length header can announce.
	MaxPackageSizeLimit = Size(1<<24 - 1)
)

// DefaultUser is the admin user a topology without users gets, Pomelo's admin/admin.
// The admin API refuses to listen beyond loopback with it.
func DefaultUser() AdminUser {
	return AdminUser{ID: "user-1", Username: "admin", Password: Secret{Value: "admin"}, Level: 1}
}

// DefaultRestart is the restart policy of a server that declares none: Pomelo's
// (never restart), with the back-off a policy gets when it asks for restarts.
func DefaultRestart() Restart {
	return Restart{
		Policy:      "no",
		StartSecs:   Duration(5 * time.Second),
		Backoff:     Backoff{Initial: Duration(100 * time.Millisecond), Max: Duration(30 * time.Second)},
		MaxRestarts: 5,
		Window:      Duration(60 * time.Second),
		// A kill -9 is back within a few back-off steps; a graceful
		// restart also drains first.
		Wait: Duration(5 * time.Second),
	}
}

// setDefaults fills what the file leaves out. It is pure: no I/O, no checks.
func setDefaults(t *Topology) {
	if t.Name == "" {
		t.Name = filepath.Base(filepath.Dir(t.File))
	}
	m := &t.Master
	m.ID = or(m.ID, DefaultMasterID)
	m.Host = or(m.Host, DefaultHost)
	if !m.At.Has("port") {
		m.Port = DefaultMasterPort
	}
	if len(m.Users) == 0 && !m.At.Has("users") {
		m.Users = []AdminUser{DefaultUser()}
	}
	if ha := t.HA; ha != nil {
		if len(ha.Zookeeper) == 0 {
			ha.Zookeeper = StringList{DefaultZookeeper}
		}
		ha.Path = or(ha.Path, DefaultHAPath)
		if !ha.At.Has("sessionTimeout") {
			ha.SessionTimeout = DefaultSessionTimeout
		}
		for i := range ha.Standbys {
			ha.Standbys[i].Host = or(ha.Standbys[i].Host, DefaultHost)
		}
	}
	if gc := t.GlobalChannel; gc != nil {
		gc.Redis = or(gc.Redis, DefaultRedis)
		gc.Prefix = or(gc.Prefix, DefaultChannelPrefix)
	}
	if t.Smoke != nil {
		t.Smoke.setDefaults()
	}
	if t.Web != nil {
		t.Web.setDefaults()
	}
	t.Log.Level = or(t.Log.Level, "info")
	t.Log.Format = or(t.Log.Format, "text")
	for _, st := range t.Types {
		st.Restart = withRestart(DefaultRestart(), st.Restart)
		if st.Frontend {
			if st.Connector == nil {
				st.Connector = &Connector{}
			}
			c := st.Connector
			if len(c.Transports) == 0 && !c.At.Has("transports") {
				c.Transports = []string{"ws", "tcp"}
			}
			if !c.At.Has("maxPackageSize") {
				c.MaxPackageSize = DefaultMaxPackageSize
			}
		}
	}
}

// withRestart returns r with what it leaves out taken from base: the type's policy
// for an instance, the built-in one for a type.
func withRestart(base Restart, r *Restart) *Restart {
	if r == nil {
		return &base
	}
	out := *r
	out.Policy = or(out.Policy, base.Policy)
	if !r.At.Has("force") {
		out.Force = base.Force
	}
	if !r.At.Has("startsecs") {
		out.StartSecs = base.StartSecs
	}
	if !r.Backoff.At.Has("initial") {
		out.Backoff.Initial = base.Backoff.Initial
	}
	if !r.Backoff.At.Has("max") {
		out.Backoff.Max = base.Backoff.Max
	}
	if !r.At.Has("maxRestarts") {
		out.MaxRestarts = base.MaxRestarts
	}
	if !r.At.Has("window") {
		out.Window = base.Window
	}
	if !r.At.Has("wait") {
		out.Wait = base.Wait
	}
	return &out
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
