package topology

import (
	"fmt"
	"strings"
)

type envError struct{ msg, hint string }

// expandEnv replaces ${NAME} and ${NAME:-default} in s with values from lookup. A
// variable that is unset and has no default is an error, so that a secret never
// silently becomes empty. A "$" not followed by "{" is kept as written.
func expandEnv(s string, lookup func(string) (string, bool)) (string, *envError) {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", &envError{fmt.Sprintf("%q opens ${ without a closing }", s), "write ${NAME} or ${NAME:-default}"}
		}
		ref := s[i+2 : i+end]
		name, def, hasDef := strings.Cut(ref, ":-")
		if !validEnvName(name) {
			return "", &envError{fmt.Sprintf("%q is not an environment variable name", name), "names are letters, digits and _, not starting with a digit"}
		}
		v, ok := lookup(name)
		switch {
		case hasDef && v == "": // as in the shell: unset or empty takes the default
			b.WriteString(def)
		case ok:
			b.WriteString(v)
		default:
			return "", &envError{fmt.Sprintf("environment variable %s is not set", name), fmt.Sprintf("export %s, or give a default: ${%s:-value}", name, name)}
		}
		s = s[i+end+1:]
	}
}

func validEnvName(name string) bool {
	if name == "" || (name[0] >= '0' && name[0] <= '9') {
		return false
	}
	for _, r := range name {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
