package pomelo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTree writes files (slash-separated paths to contents) under a new
// temporary folder and returns the folder.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// importTree imports paths of dir and returns the YAML, the warnings and the
// error, with dir cut from the file names they mention.
func importTree(t *testing.T, dir string, paths []string, env string) (yamlText, warnings, errText string) {
	t.Helper()
	abs := make([]string, len(paths))
	for i, p := range paths {
		abs[i] = filepath.Join(dir, filepath.FromSlash(p))
	}
	res, err := Import(abs, Options{Env: env, Out: filepath.Join(dir, "topology.yaml")})
	if err != nil {
		return "", "", strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
	}
	return string(res.YAML), warningLines(res.Warnings, dir), ""
}

const (
	gateServers = `{"gate": [{"id": "gate-server-1", "host": "127.0.0.1", "clientPort": 3014, "frontend": true}]}`
	chatServers = `{"chat": [{"id": "chat-server-1", "host": "127.0.0.1", "port": 6050}]}`
)

func TestImportEnvironments(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		paths    []string
		env      string
		wantYAML []string // lines the topology must have
		wantWarn string
		wantErr  string
	}{
		{
			name:     "keyed file",
			files:    map[string]string{"config/servers.json": `{"development": ` + gateServers + `, "production": ` + chatServers + `}`},
			paths:    []string{"config"},
			env:      "production",
			wantYAML: []string{"  chat:", "# Imported by `pomeloctl import` from a Pomelo project's config, environment \"production\":", "#   config/servers.json"},
		},
		{
			name:     "flat file",
			files:    map[string]string{"config/servers.json": gateServers},
			paths:    []string{"config/servers.json"},
			wantYAML: []string{"  gate:"},
		},
		{
			name: "environment folders",
			files: map[string]string{
				"config/production/servers.json": chatServers,
				"config/production/master.json":  `{"id": "master-server-1", "host": "127.0.0.1", "port": 3005}`,
			},
			paths:    []string{"config"},
			env:      "production",
			wantYAML: []string{"  chat:", "  port: 3005", "#   config/production/servers.json", "#   config/production/master.json"},
		},
		{
			name: "config/X.json comes first, as in Pomelo",
			files: map[string]string{
				"config/servers.json":            `{"production": ` + gateServers + `}`,
				"config/production/servers.json": chatServers,
			},
			paths:    []string{"config"},
			env:      "production",
			wantYAML: []string{"  gate:"},
			wantWarn: "config/production/servers.json: warning: not read: config/servers.json exists, and Pomelo reads it instead\n",
		},
		{
			name:     "the game server's folder",
			files:    map[string]string{"myproject/game-server/config/servers.json": gateServers},
			paths:    []string{"myproject/game-server"},
			wantYAML: []string{"name: myproject", "#   myproject/game-server/config/servers.json"},
		},
		{
			name:     "comments beside the environments",
			files:    map[string]string{"config/servers.json": `{"comments": ["gate first"], "development": ` + gateServers + `, "note": "x"}`},
			paths:    []string{"config"},
			wantYAML: []string{"  gate:"},
			wantWarn: "config/servers.json:1:2: warning: \"comments\" is not an environment (its value is an array): ignored\n" +
				"config/servers.json:1:141: warning: \"note\" is not an environment (its value is \"x\"): ignored\n",
		},
		{
			name:    "missing environment",
			files:   map[string]string{"config/servers.json": `{"production": ` + gateServers + `, "staging": ` + gateServers + `}`},
			paths:   []string{"config"},
			wantErr: `config/servers.json:1:1: no "development" environment here: the file declares "production" and "staging"; import one of them with --env production or --env staging`,
		},
		{
			name: "missing environment in master.json",
			files: map[string]string{
				"config/servers.json": gateServers,
				"config/master.json":  `{"production": {"id": "master-server-1"}}`,
			},
			paths:   []string{"config"},
			wantErr: `config/master.json:1:1: no "development" environment here: the file declares "production"; import one of them with --env production`,
		},
		{
			name:    "empty environment",
			files:   map[string]string{"config/servers.json": `{"development": {}, "production": ` + gateServers + `}`},
			paths:   []string{"config"},
			wantErr: `config/servers.json:1:17: the "development" environment declares no servers; declare its server types, or import another environment with --env`,
		},
		{
			name:    "environment of empty types",
			files:   map[string]string{"config/servers.json": `{"development": {"gate": []}}`},
			paths:   []string{"config"},
			wantErr: `config/servers.json:1:17: the "development" environment declares no servers; declare its server types, or import another environment with --env`,
		},
		{
			name:    "no servers.json",
			files:   map[string]string{"config/master.json": `{}`},
			paths:   []string{"config"},
			wantErr: `no servers.json in config (nor in its development folder): name the Pomelo project's config folder, or its servers.json`,
		},
		{
			name:    "two servers.json",
			files:   map[string]string{"a/servers.json": gateServers, "b/servers.json": gateServers},
			paths:   []string{"a", "b/servers.json"},
			wantErr: `two servers.json named, a/servers.json and b/servers.json: name one`,
		},
		{
			name:    "not a config file",
			files:   map[string]string{"config/servers.json": gateServers, "config/app.js": ""},
			paths:   []string{"config/app.js"},
			wantErr: `config/app.js is not a Pomelo config file the import reads: name a config folder (game-server/config) or any of servers.json, master.json, masterha.json, adminUser.json, adminServer.json, dictionary.json, serverProtos.json and clientProtos.json`,
		},
		{
			name:     "a variant's name",
			files:    map[string]string{"servers.prod.json": gateServers},
			paths:    []string{"servers.prod.json"},
			wantYAML: []string{"  gate:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, tt.files)
			got, warns, err := importTree(t, dir, tt.paths, tt.env)
			if err != tt.wantErr {
				t.Fatalf("import %v of %v:\ngot error  %s\nwant error %s", tt.paths, tt.files, err, tt.wantErr)
			}
			lines := strings.Split(got, "\n")
			for _, want := range tt.wantYAML {
				if !containsLine(lines, want) {
					t.Errorf("import %v of %v: no line %q in\n%s", tt.paths, tt.files, want, got)
				}
			}
			if warns != tt.wantWarn {
				t.Errorf("import %v of %v: warnings\ngot:\n%s\nwant:\n%s", tt.paths, tt.files, warns, tt.wantWarn)
			}
		})
	}
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}
