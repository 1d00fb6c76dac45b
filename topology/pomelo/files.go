package pomelo

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pomeloctl/pomeloctl/topology"
)

// The files of a Pomelo config folder that the import reads, by base name.
const (
	serversFile      = "servers.json"
	masterFile       = "master.json"
	masterHAFile     = "masterha.json"
	adminUserFile    = "adminUser.json"
	adminServerFile  = "adminServer.json"
	dictionaryFile   = "dictionary.json"
	serverProtosFile = "serverProtos.json"
	clientProtosFile = "clientProtos.json"
)

// configFiles lists the files the import reads, in the order it reports them.
func configFiles() []string {
	return []string{serversFile, masterFile, masterHAFile, adminUserFile, adminServerFile, dictionaryFile, serverProtosFile, clientProtosFile}
}

// configFileOf tells which config file a file named by hand is: one of
// configFiles, or a variant of one such as servers-cpu.json or master.prod.json,
// as examples and backups are often named.
func configFileOf(name string) (string, bool) {
	for _, base := range configFiles() {
		stem := strings.TrimSuffix(base, ".json")
		rest, ok := strings.CutPrefix(name, stem)
		if ok && (rest == ".json" || strings.HasSuffix(rest, ".json") && strings.ContainsRune("-._", rune(rest[0]))) {
			return base, true
		}
	}
	return "", false
}

// located is which file the import reads for each base name.
type located struct {
	paths    map[string]string
	warnings []topology.Warning
}

// locate finds the config files that paths name: folders are searched for each
// file, and files are taken for what their base name says.
func locate(paths []string, env string) (*located, error) {
	l := &located{paths: map[string]string{}}
	var folders []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("read Pomelo config: %w", err)
		}
		if !info.IsDir() {
			base, ok := configFileOf(filepath.Base(p))
			if !ok {
				return nil, fmt.Errorf("%s is not a Pomelo config file the import reads: name a config folder (game-server/config) or any of %s", p, andList(configFiles()))
			}
			if err := l.add(base, p); err != nil {
				return nil, err
			}
			continue
		}
		dir, err := configDir(p, env)
		if err != nil {
			return nil, err
		}
		folders = append(folders, dir)
		for _, base := range configFiles() {
			path, err := l.pick(dir, env, base)
			if err != nil {
				return nil, err
			}
			if path != "" {
				if err := l.add(base, path); err != nil {
					return nil, err
				}
			}
		}
	}
	if _, ok := l.paths[serversFile]; !ok {
		if len(folders) > 0 {
			return nil, fmt.Errorf("no servers.json in %s (nor in its %s folder): name the Pomelo project's config folder, or its servers.json", andList(folders), env)
		}
		return nil, errors.New("no servers.json among the files named: the import needs a Pomelo project's servers.json")
	}
	return l, nil
}

// add records path as the file for base, refusing two different ones.
func (l *located) add(base, path string) error {
	if prev, ok := l.paths[base]; ok && filepath.Clean(prev) != filepath.Clean(path) {
		return fmt.Errorf("two %s named, %s and %s: name one", base, prev, path)
	}
	l.paths[base] = path
	return nil
}

// pick chooses, as Pomelo does, config/X.json when it exists and otherwise
// config/<env>/X.json; "" when neither does. Pomelo never reads the second when
// the first exists, which surprises people who moved to per-environment folders,
// so that case is a warning.
func (l *located) pick(dir, env, base string) (string, error) {
	origin, present := filepath.Join(dir, base), filepath.Join(dir, env, base)
	hasOrigin, err := exists(origin)
	if err != nil {
		return "", err
	}
	hasPresent, err := exists(present)
	if err != nil {
		return "", err
	}
	switch {
	case hasOrigin && hasPresent:
		l.warnings = append(l.warnings, topology.Warning{Pos: topology.Pos{File: present},
			Msg: fmt.Sprintf("not read: %s exists, and Pomelo reads it instead", origin)})
		return origin, nil
	case hasOrigin:
		return origin, nil
	case hasPresent:
		return present, nil
	}
	return "", nil
}

// configDir is the config folder of the folder dir names: dir itself, or its
// config/ when dir is the game server's folder.
func configDir(dir, env string) (string, error) {
	for _, d := range []string{dir, filepath.Join(dir, "config")} {
		for _, f := range []string{filepath.Join(d, serversFile), filepath.Join(d, env, serversFile)} {
			ok, err := exists(f)
			if err != nil || ok {
				return d, err
			}
		}
	}
	return dir, nil
}

// exists reports whether path exists; failing to tell is an error.
func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("read Pomelo config: %w", err)
}

// projectName names the topology after the Pomelo project: the folder that holds
// config/ — or game-server/config/, as NetEase's demos lay it out — and otherwise
// the folder of servers.json.
func projectName(serversPath, env string) string {
	dir, err := filepath.Abs(filepath.Dir(serversPath))
	if err != nil {
		dir = filepath.Dir(serversPath)
	}
	for _, step := range []string{env, "config", "game-server"} {
		if filepath.Base(dir) == step {
			dir = filepath.Dir(dir)
		}
	}
	name := filepath.Base(dir)
	if name == "." || name == string(filepath.Separator) || name == "" {
		return "pomelo"
	}
	return name
}

// ref is how the topology names the file at path: relative to the folder the
// topology is written to, or absolute when it goes to standard output, since that
// may be redirected anywhere.
func (im *importer) ref(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	if im.opts.Out == "" {
		return abs
	}
	outDir, err := filepath.Abs(filepath.Dir(im.opts.Out))
	if err != nil {
		return abs
	}
	rel, err := filepath.Rel(outDir, abs)
	if err != nil {
		return abs
	}
	return rel
}
