package globalchannel

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pomeloctl/pomeloctl/topology"
)

// DefaultPrefix is pomelo-globalchannel-plugin's.
const DefaultPrefix = topology.DefaultChannelPrefix

// RedisConfig is how to reach the Redis that keeps the channels.
type RedisConfig struct {
	Addr     string // host:port
	DB       int
	Password string
	TLS      *tls.Config // nil for plain TCP
	// Prefix starts every key: PREFIX:CHANNEL:FRONTEND-ID holds the uids
	// of a channel's members on that frontend, as the plugin keeps them.
	Prefix string
}

// ConfigOf is how to reach the Redis of a topology's globalChannel: its
// TLS CA read from its file.
func ConfigOf(t *topology.Topology) (RedisConfig, error) {
	gc := t.GlobalChannel
	cfg := RedisConfig{Addr: gc.Redis, DB: gc.DB, Password: gc.Password.Value, Prefix: gc.Prefix}
	if gc.TLS {
		host, _, _ := net.SplitHostPort(gc.Redis)
		cfg.TLS = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		if gc.TLSCA != "" {
			pem, err := os.ReadFile(t.Path(gc.TLSCA))
			if err != nil {
				return RedisConfig{}, fmt.Errorf("global channels: the Redis CA (globalChannel.tlsCA): %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return RedisConfig{}, fmt.Errorf("global channels: the Redis CA %s holds no PEM certificate", t.Path(gc.TLSCA))
			}
			cfg.TLS.RootCAs = pool
		}
	}
	return cfg, nil
}

// Redis is the Store in Redis, with pomelo-globalchannel-plugin's keys.
type Redis struct {
	c      *redis.Client
	prefix string
	addr   string
}

// DialRedis connects to Redis and checks that it answers: a Redis that
// cannot be reached at start is an error naming its address, not a
// failure at the first push. Later, go-redis redials a dropped connection
// with back-off, and a call that cannot reach it fails with why.
func DialRedis(ctx context.Context, cfg RedisConfig) (*Redis, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	c := redis.NewClient(&redis.Options{
		Addr: cfg.Addr, DB: cfg.DB, Password: cfg.Password, TLSConfig: cfg.TLS,
		DialTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second,
		MaxRetries: 3, MinRetryBackoff: 50 * time.Millisecond, MaxRetryBackoff: time.Second,
	})
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("global channels: Redis at %s (db %d) does not answer: %w", cfg.Addr, cfg.DB, err)
	}
	return &Redis{c: c, prefix: cfg.Prefix, addr: cfg.Addr}, nil
}

func (r *Redis) key(name, sid string) string { return r.prefix + ":" + name + ":" + sid }

// wrap names Redis in an error.
func (r *Redis) wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("global channels: %s in Redis at %s: %w", what, r.addr, err)
}

func (r *Redis) Add(ctx context.Context, name, uid, sid string) error {
	if err := check(name, uid, sid); err != nil {
		return err
	}
	return r.wrap("add "+uid+" to "+name, r.c.SAdd(ctx, r.key(name, sid), uid).Err())
}

func (r *Redis) Leave(ctx context.Context, name, uid, sid string) error {
	if err := check(name, uid, sid); err != nil {
		return err
	}
	return r.wrap("remove "+uid+" from "+name, r.c.SRem(ctx, r.key(name, sid), uid).Err())
}

func (r *Redis) LeaveAll(ctx context.Context, names []string, uid, sid string) error {
	if len(names) == 0 {
		return nil
	}
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, name := range names {
			p.SRem(ctx, r.key(name, sid), uid)
		}
		return nil
	})
	return r.wrap(fmt.Sprintf("remove %s from %d channels", uid, len(names)), err)
}

func (r *Redis) Members(ctx context.Context, name string, sids []string) (map[string][]string, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: the channel has no name", ErrBadInput)
	}
	cmds := make([]*redis.StringSliceCmd, len(sids))
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, sid := range sids {
			cmds[i] = p.SMembers(ctx, r.key(name, sid))
		}
		return nil
	})
	if err != nil {
		return nil, r.wrap("read the members of "+name, err)
	}
	out := map[string][]string{}
	for i, sid := range sids {
		if uids := cmds[i].Val(); len(uids) > 0 {
			out[sid] = uids
		}
	}
	return out, nil
}

func (r *Redis) Destroy(ctx context.Context, name string, sids []string) error {
	if name == "" {
		return fmt.Errorf("%w: the channel has no name", ErrBadInput)
	}
	if len(sids) == 0 {
		return nil
	}
	keys := make([]string, len(sids))
	for i, sid := range sids {
		keys[i] = r.key(name, sid)
	}
	return r.wrap("destroy "+name, r.c.Del(ctx, keys...).Err())
}

func (r *Redis) Restore(ctx context.Context, sid string, members map[string][]string) error {
	if len(members) == 0 {
		return nil
	}
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for name, uids := range members {
			if len(uids) == 0 {
				continue
			}
			args := make([]any, len(uids))
			for i, u := range uids {
				args[i] = u
			}
			p.SAdd(ctx, r.key(name, sid), args...)
		}
		return nil
	})
	return r.wrap(fmt.Sprintf("restore %d channels of %s", len(members), sid), err)
}

// DropFrontend deletes the keys of frontend sid, found with SCAN (never
// KEYS, which blocks Redis while it walks every key).
func (r *Redis) DropFrontend(ctx context.Context, sid string) (int, error) {
	if sid == "" {
		return 0, fmt.Errorf("%w: no frontend id", ErrBadInput)
	}
	return r.deleteMatching(ctx, escapeGlob(r.prefix)+":*:"+escapeGlob(sid), "drop the members of "+sid)
}

// Clean deletes every key under the prefix, found with SCAN.
func (r *Redis) Clean(ctx context.Context) (int, error) {
	return r.deleteMatching(ctx, escapeGlob(r.prefix)+":*", "clean the channels under "+r.prefix)
}

func (r *Redis) deleteMatching(ctx context.Context, match, what string) (int, error) {
	n := 0
	iter := r.c.Scan(ctx, 0, match, 512).Iterator()
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := r.c.Unlink(ctx, batch...).Err()
		n += len(batch)
		batch = batch[:0]
		return err
	}
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 512 {
			if err := flush(); err != nil {
				return n, r.wrap(what, err)
			}
		}
	}
	if err := errors.Join(iter.Err(), flush()); err != nil {
		return n, r.wrap(what, err)
	}
	return n, nil
}

// Instance says which run of Redis answers (its run_id, new at every
// start): a different one than before has restarted, empty unless it
// persists its data.
func (r *Redis) Instance(ctx context.Context) (string, error) {
	info, err := r.c.Info(ctx, "server").Result()
	if err != nil {
		return "", r.wrap("ask who it is", err)
	}
	for line := range strings.Lines(info) {
		if id, ok := strings.CutPrefix(strings.TrimSpace(line), "run_id:"); ok {
			return id, nil
		}
	}
	return "", r.wrap("ask who it is", errors.New("INFO server has no run_id"))
}

// CountMembers counts the members of every channel under the prefix, on
// every frontend: what a check that nothing was lost compares.
func (r *Redis) CountMembers(ctx context.Context) (int, error) {
	var keys []string
	iter := r.c.Scan(ctx, 0, escapeGlob(r.prefix)+":*", 512).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return 0, r.wrap("count the channels' members", err)
	}
	pipe := r.c.Pipeline()
	cards := make([]*redis.IntCmd, len(keys))
	for i, k := range keys {
		cards[i] = pipe.SCard(ctx, k)
	}
	if len(keys) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return 0, r.wrap("count the channels' members", err)
		}
	}
	n := 0
	for _, c := range cards {
		n += int(c.Val())
	}
	return n, nil
}

// ShutdownNoSave stops the Redis, saving nothing: a managed one's
// supervisor starts it again, empty (the smoke run's chaos).
func (r *Redis) ShutdownNoSave(ctx context.Context) error {
	err := r.c.ShutdownNoSave(ctx).Err()
	if err == nil || errors.Is(err, io.EOF) || strings.Contains(err.Error(), "connection reset") {
		return nil // the connection goes with the server: what success looks like
	}
	return r.wrap("shut it down", err)
}

func (r *Redis) Close() error { return r.c.Close() }

// escapeGlob quotes the characters SCAN's MATCH treats as a pattern.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`*?[]\`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}
