package client

import "github.com/pomeloctl/pomeloctl/engine/protocol"

// routeCodes is the route dictionary a server sent in its handshake.
type routeCodes struct {
	routes map[string]uint16
	codes  map[uint16]string
}

func newRouteCodes(dict map[string]uint16) *routeCodes {
	rc := &routeCodes{routes: dict, codes: make(map[uint16]string, len(dict))}
	for r, code := range dict {
		rc.codes[code] = r
	}
	return rc
}

func (rc *routeCodes) Code(route string) (uint16, bool) { c, ok := rc.routes[route]; return c, ok }
func (rc *routeCodes) Route(code uint16) (string, bool) { r, ok := rc.codes[code]; return r, ok }

// dict is what the codec takes: nil when the server uses no dictionary.
func (rc *routeCodes) dict() protocol.RouteCodes {
	if rc == nil {
		return nil
	}
	return rc
}
