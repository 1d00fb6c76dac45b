package pomelo

import (
	"fmt"
	"strings"
)

// section returns what f says for the import's environment, or nil (with an error
// recorded) when it says nothing for it. isEnv tells whether a value of the file's
// object looks like an environment's configuration.
//
// Pomelo's rule: when the file's object has a key named after the environment,
// its value is the configuration, otherwise the whole file is. Pomelo cannot tell a
// file keyed by other environments from a flat one, and would read
// {"production": {...}} as a server type named production; here a file with a
// value that looks like an environment is taken as keyed, and the missing
// environment is an error.
func (im *importer) section(f *file, isEnv func(*value) bool) *value {
	root, env := f.root, im.opts.Env
	if root.kind != objectKind {
		return root
	}
	if m := root.get(env); m != nil {
		for _, other := range root.members {
			if other != m && !isEnv(other.val) {
				im.warn(other.keyPos, "%q is not an environment (its value is %s): ignored", other.key, other.val.describe())
			}
		}
		return m.val
	}
	var envs []string
	for _, m := range root.members {
		if isEnv(m.val) {
			envs = append(envs, m.key)
		}
	}
	if len(envs) == 0 {
		return root
	}
	flags := make([]string, len(envs))
	for i, e := range envs {
		flags[i] = "--env " + e
	}
	im.fail(root.pos, "import one of them with "+strings.Join(flags, " or "),
		"no %q environment here: the file declares %s", env, andList(quoteAll(envs)))
	return nil
}

// anObject is an environment's configuration in every file but servers.json:
// their flat forms hold no objects.
func anObject(v *value) bool { return v.kind == objectKind }

// serverTypes is an environment's configuration in servers.json: an object of
// server types, each a list of servers. A flat file's mistaken type written as one
// server object is not taken for an environment.
func serverTypes(v *value) bool {
	if v.kind != objectKind {
		return false
	}
	for _, m := range v.members {
		if m.val.kind != arrayKind {
			return false
		}
	}
	return true
}

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = fmt.Sprintf("%q", n)
	}
	return out
}

// keyed reports whether f is keyed by environment (and section took one out).
func (im *importer) keyed(f *file) bool {
	return f.root.kind == objectKind && f.root.get(im.opts.Env) != nil
}
