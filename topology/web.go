package topology

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Web is a folder of static files that up serves over HTTP beside the
// cluster, as a Pomelo project's web-server serves its HTML5 client.
type Web struct {
	// Root is the folder, relative to the topology's folder unless absolute.
	Root string `yaml:"root" json:"root"`
	Host string `yaml:"host" json:"host"`
	Port int    `yaml:"port" json:"port"`

	At Positions `yaml:"-" json:"-"`
}

// DefaultWebPort is where Pomelo's project template runs its web-server.
const DefaultWebPort = 3001

// setDefaults: loopback unless written, since a page for development is
// not for anyone who can reach the host.
func (w *Web) setDefaults() {
	w.Host = or(w.Host, DefaultHost)
	if !w.At.Has("port") {
		w.Port = DefaultWebPort
	}
}

// checkWeb checks what web says on its own; its port is shifted and
// claimed with every other port in expand and crossCheck.
func (l *loader) checkWeb(t *Topology) {
	w := t.Web
	if w == nil || w.At.Bad("root") {
		return
	}
	pos := w.At.Of("root")
	if w.Root == "" {
		l.errs.add(pos, "web.root", "no folder to serve", "write root: the folder of the page's files (with its index.html), relative to the topology's folder")
		return
	}
	info, err := os.Stat(t.Path(w.Root))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		l.errs.add(pos, "web.root", fmt.Sprintf("folder %s does not exist", w.Root), "create it with the page's files (index.html), or name another folder; a relative root is taken from the topology's folder")
	case err != nil:
		l.errs.add(pos, "web.root", fmt.Sprintf("cannot read folder %s: %v", w.Root, errors.Unwrap(err)), "")
	case !info.IsDir():
		l.errs.add(pos, "web.root", fmt.Sprintf("%s is a file, not a folder", w.Root), "name the folder that holds the page's files")
	}
}

// expandWeb shifts the web server's port by the port offset, as every port.
func (l *loader) expandWeb(t *Topology) {
	if w := t.Web; w != nil {
		w.Port = l.shiftPort(w.Port, t.PortOffset, w.At.Of("port"), "web.port")
	}
}
