package pomelo

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/pomeloctl/pomeloctl/topology"
)

// DefaultEnv is the environment Pomelo starts in when none is given.
const DefaultEnv = "development"

// Options for Import.
type Options struct {
	Env string // default "development"
	Out string // path the topology will be written to ("" = stdout / cwd); used to make protos paths relative to it
}

// Result is the generated topology and what was changed or dropped on the way.
type Result struct {
	YAML     []byte
	Warnings []topology.Warning // each names the source JSON file and line:col
}

// Import reads a Pomelo project's config: each path is either a config directory
// (game-server/config) or one of its JSON files (servers.json, master.json,
// masterha.json, adminUser.json, adminServer.json, dictionary.json,
// serverProtos.json, clientProtos.json — recognised by base name).
//
// Invalid JSON, and values the topology cannot take, give a topology.ErrorList
// whose errors name the JSON file, line and column; a file that cannot be read
// gives that failure, wrapped.
func Import(paths []string, opts Options) (*Result, error) {
	if opts.Env == "" {
		opts.Env = DefaultEnv
	}
	found, err := locate(paths, opts.Env)
	if err != nil {
		return nil, err
	}
	im := &importer{opts: opts, warns: found.warnings}
	files := map[string]*file{}
	for _, base := range configFiles() {
		path, ok := found.paths[base]
		if !ok {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read Pomelo config: %w", err)
		}
		root, dups, err := parseJSON(path, data)
		if err != nil {
			var syntax *topology.Error
			if !errors.As(err, &syntax) {
				return nil, fmt.Errorf("read %s: %w", path, err)
			}
			im.errs = append(im.errs, syntax) // and go on, to report every file's
			continue
		}
		im.warns = append(im.warns, dups...)
		files[base] = &file{path: path, root: root}
	}
	if err := im.errs.Err(); err != nil {
		return nil, err
	}
	t := im.convert(files, found.paths[serversFile])
	if err := im.errs.Err(); err != nil {
		return nil, err
	}
	var sources []string
	for _, base := range configFiles() {
		if f, ok := files[base]; ok {
			sources = append(sources, im.ref(f.path))
		}
	}
	out, err := encode(t, sources, opts.Env)
	if err != nil {
		return nil, fmt.Errorf("write the imported topology: %w", err)
	}
	slices.SortStableFunc(im.warns, func(a, b topology.Warning) int {
		return cmp.Or(cmp.Compare(a.Pos.File, b.Pos.File), cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Col, b.Pos.Col))
	})
	return &Result{YAML: out, Warnings: im.warns}, nil
}

// file is one parsed config file.
type file struct {
	path string
	root *value
}

// importer collects, over one import, every problem and every warning, so that
// one run reports them all.
type importer struct {
	opts  Options
	errs  topology.ErrorList
	warns []topology.Warning
}

func (im *importer) warn(pos topology.Pos, format string, args ...any) {
	im.warns = append(im.warns, topology.Warning{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

func (im *importer) fail(pos topology.Pos, hint, format string, args ...any) {
	im.errs = append(im.errs, &topology.Error{Pos: pos, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

// convert maps the parsed files onto the topology's terms.
func (im *importer) convert(files map[string]*file, serversPath string) *topo {
	t := &topo{name: projectName(serversPath, im.opts.Env)}
	t.types = im.servers(files[serversFile])
	if f := files[masterFile]; f != nil {
		t.master = im.master(f)
	}
	if f := files[adminUserFile]; f != nil {
		t.users = im.adminUsers(f)
	}
	if f := files[adminServerFile]; f != nil {
		t.tokens = im.adminServers(f, t.types)
	}
	if f := files[masterHAFile]; f != nil {
		t.ha = im.masterHA(f, t)
	}
	if f := files[dictionaryFile]; f != nil {
		t.dictionary = im.dictionary(f)
	}
	if f := files[serverProtosFile]; f != nil && im.protos(f) {
		t.serverProtos = im.ref(f.path)
	}
	if f := files[clientProtosFile]; f != nil && im.protos(f) {
		t.clientProtos = im.ref(f.path)
	}
	return t
}
