package topology

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
)

// Fingerprint is what a server's process runs with, as digests: one per
// part of the topology it reads, and one of them all. Two fingerprints
// with the same Digest run the same; the parts whose digests differ say
// why not (what `pomeloctl diff` shows).
type Fingerprint struct {
	Digest string            `json:"digest"`
	Parts  map[string]string `json:"parts"`
}

// Changed are the parts whose digests differ between f and g, sorted: a
// part either has is compared with none.
func (f Fingerprint) Changed(g Fingerprint) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(f.Parts)) {
		if g.Parts[k] != f.Parts[k] {
			out = append(out, k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(g.Parts)) {
		if _, ok := f.Parts[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// Fingerprint is the fingerprint of server s of t: its own settings (not
// its group, which only says when a rollout takes it), its type's (the
// handlers, router, filters, connector, command), and the cluster-wide
// sections every server reads; the protos files by their content; the
// secrets it is given by their values (JSON redacts them). What servers
// learn at run time (their peers, the masters' HTTP ports) and what only
// the tools read (smoke, web, groups) are left out.
func (t *Topology) Fingerprint(s *Server) Fingerprint {
	parts := map[string]string{}
	put := func(name string, v any) {
		data, err := json.Marshal(v)
		if err != nil {
			data = []byte(err.Error()) // cannot happen for the schema's types; still a value that differs
		}
		parts[name] = digest(data)
	}
	// Its own settings and its type's, key by key, so that a change says
	// which key: a type's router, an instance's port.
	keys := func(name string, v any) {
		data, err := json.Marshal(v)
		var fields map[string]json.RawMessage
		if err == nil {
			err = json.Unmarshal(data, &fields)
		}
		if err != nil {
			put(name, err.Error())
			return
		}
		for k, raw := range fields {
			parts[name+"."+k] = digest(raw)
		}
	}
	own := *s
	own.Group = ""
	own.Token = Secret{} // under secrets, by its value
	keys("server", own)
	if st := t.Types.Get(s.Type); st != nil {
		typ := *st
		typ.Servers = nil
		typ.Group = ""
		keys("type", typ)
	}
	put("filters", t.Filters)
	put("hooks", t.Hooks)
	put("dictionary", t.Dictionary)
	put("log", t.Log)
	put("http", t.HTTP)
	put("master", struct {
		ID, Host string
		Port     int
	}{t.Master.ID, t.Master.Host, t.Master.Port})
	if t.HA != nil {
		ha := *t.HA
		ha.Standbys = slices.Clone(ha.Standbys)
		for i := range ha.Standbys {
			ha.Standbys[i].HTTPPort = 0
		}
		put("ha", ha)
	}
	if t.GlobalChannel != nil {
		put("globalChannel", t.GlobalChannel)
	}
	protos := []string{t.Protos.Server, t.Protos.Client}
	for _, p := range []string{t.Protos.Server, t.Protos.Client} {
		if p == "" {
			continue
		}
		data, err := os.ReadFile(t.Path(p))
		if err != nil {
			protos = append(protos, "unreadable: "+err.Error())
			continue
		}
		protos = append(protos, digest(data))
	}
	put("protos", protos)
	secrets := []string{s.Token.Value, t.Master.Tokens[s.Type].Value}
	if t.HA != nil {
		secrets = append(secrets, t.HA.Auth.Value)
	}
	if t.GlobalChannel != nil {
		secrets = append(secrets, t.GlobalChannel.Password.Value)
	}
	put("secrets", secrets)

	var all strings.Builder
	for _, k := range slices.Sorted(maps.Keys(parts)) {
		fmt.Fprintf(&all, "%s=%s\n", k, parts[k])
	}
	return Fingerprint{Digest: digest([]byte(all.String())), Parts: parts}
}

// digest is a short SHA-256: enough to tell versions apart, short enough
// to read in a table.
func digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:6])
}
