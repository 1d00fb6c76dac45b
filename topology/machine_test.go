package topology

import (
	"strings"

	"github.com/pomeloctl/pomeloctl/profiles"
)

// fakeMachine is a two-CPU machine whose only addresses are loopback ones, so that
// tests give the same answers on any machine.
type fakeMachine struct{}

func (fakeMachine) IsLocal(host string) bool {
	return host == "" || strings.HasPrefix(host, "127.") || host == "localhost" || host == "::1"
}

func (fakeMachine) AllowedCPUs() (CPUSet, error) { return CPUSet{0, 1}, nil }

func testOptions() Options {
	return Options{
		Machine:         fakeMachine{},
		BuiltinProfiles: profiles.FS,
		LookupEnv:       func(name string) (string, bool) { return map[string]string{"SECRET": "s3cret"}[name], name == "SECRET" },
	}
}
