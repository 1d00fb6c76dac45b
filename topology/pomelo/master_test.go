package pomelo

import "testing"

const oneChat = `{"chat": [{"id": "chat-server-1", "port": 6050}]}`

// withServers adds a servers.json of one chat server to files.
func withServers(files map[string]string) map[string]string {
	files["servers.json"] = oneChat
	return files
}

func TestImportMaster(t *testing.T) {
	runMapping(t, []mappingCase{
		{
			name:  "master",
			files: withServers(map[string]string{"master.json": `{"id": "m-1", "host": "10.0.0.1", "port": "3005", "args": "--inspect", "extra": 1}`}),
			wantYAML: `
master:
  id: m-1
  host: 10.0.0.1
  port: 3005
`,
			wantWarn: "master.json:1:51: warning: args (\"--inspect\") are Node.js options, which mean nothing to a Go server: dropped\n" +
				"master.json:1:72: warning: \"extra\" has no place in the topology: dropped\n",
		},
		{
			name: "standbys get distinct ids",
			files: withServers(map[string]string{
				"master.json": `{"id": "master-server-1", "port": 3005}`,
				"masterha.json": `{"masterha": [
  {"id": "master-server-1", "port": 3006},
  {"id": "chat-server-1", "port": 3007},
  {"port": 3008},
  {"id": "master-server-2", "port": 3009},
  {"id": "backup", "port": 3010},
  {"id": "backup", "port": 3011}]}`,
			}),
			wantYAML: `
ha:
  zookeeper:
    - 127.0.0.1:2181
  path: /pomelo/master
  standbys:
    - {id: master-server-2, port: 3006}
    - {id: chat-server-2, port: 3007}
    - {id: master-server-3, port: 3008}
    - {id: master-server-4, port: 3009}
    - {id: backup, port: 3010}
    - {id: backup-2, port: 3011}
`,
			wantWarn: "masterha.json:1:2: warning: masterha.json does not say where ZooKeeper is: the topology uses Pomelo's defaults, 127.0.0.1:2181 and path /pomelo/master (change ha.zookeeper and ha.path if yours differ)\n" +
				"masterha.json:2:10: warning: standby id \"master-server-1\" is already taken by the primary master: imported as \"master-server-2\"\n" +
				"masterha.json:3:10: warning: standby id \"chat-server-1\" is already taken by a server of type chat: imported as \"chat-server-2\"\n" +
				"masterha.json:4:3: warning: a standby master without an id: imported as \"master-server-3\"\n" +
				"masterha.json:5:10: warning: standby id \"master-server-2\" is already taken by the standby at 2:10: imported as \"master-server-4\"\n" +
				"masterha.json:7:10: warning: standby id \"backup\" is already taken by the standby at 6:10: imported as \"backup-2\"\n",
		},
		{
			name:     "masterha by environment",
			files:    withServers(map[string]string{"masterha.json": `{"development": {"masterha": [{"id": "m-2", "port": 3006}]}, "production": {"masterha": []}}`}),
			wantYAML: "    - {id: m-2, port: 3006}\n",
			wantWarn: "masterha.json:1:18: warning: masterha.json does not say where ZooKeeper is: the topology uses Pomelo's defaults, 127.0.0.1:2181 and path /pomelo/master (change ha.zookeeper and ha.path if yours differ)\n",
		},
		{
			name:    "masterha without its list",
			files:   withServers(map[string]string{"masterha.json": `{"standbys": []}`}),
			wantErr: `config/masterha.json:1:1: no "masterha" list of standby masters; write {"masterha": [{"id": "master-server-2", "host": "127.0.0.1", "port": 3006}]}`,
		},
		{
			name: "admin users",
			files: withServers(map[string]string{"adminUser.json": `[
 {"id": "user-1", "username": "admin", "password": "${ADMIN}", "level": "1", "email": "a@b"},
 {"id": "user-2", "username": "ro", "password": "ro", "level": 2}]`}),
			wantYAML: `
  users:
    - {id: user-1, username: admin, password: '${ADMIN}', level: 1}
    - {id: user-2, username: ro, password: ro, level: 2}
`,
			wantWarn: "adminUser.json:2:52: warning: password contains ${, which the topology reads as an environment variable\n" +
				"adminUser.json:2:52: warning: admin passwords are copied in clear into the topology: write password: ${SOME_ENV_VAR} (or ${SOME_ENV_VAR:-default}) to keep them out of it\n" +
				"adminUser.json:2:78: warning: \"email\" has no place in the topology: dropped\n",
		},
		{
			name:     "no admin users",
			files:    withServers(map[string]string{"adminUser.json": `[]`}),
			wantYAML: "servers:\n  chat:\n",
			wantWarn: "adminUser.json:1:1: warning: adminUser.json lists no users: the topology gets the default admin user (admin/admin), which the admin API only serves on loopback; declare master.users before exposing it\n",
		},
		{
			name: "server tokens",
			files: withServers(map[string]string{"adminServer.json": `[
 {"type": "chat", "token": "a"},
 {"type": "gate", "token": "b"},
 {"type": "chat", "token": "c"},
 {"token": "d"}]`}),
			wantYAML: "  tokens:\n    chat: c\n",
			wantWarn: "adminServer.json:3:11: warning: a token for server type \"gate\", which servers.json does not declare: dropped\n" +
				"adminServer.json:4:11: warning: a second token for server type \"chat\" (the first is at 2:11): this later one is kept\n" +
				"adminServer.json:5:2: warning: an entry without both a type and a token: ignored\n",
		},
		{
			name:     "dictionary",
			files:    withServers(map[string]string{"dictionary.json": `["onChat", "", "onAdd", "onChat"]`}),
			wantYAML: "dictionary:\n  - onChat\n  - onAdd\n\n",
			wantWarn: "dictionary.json:1:12: warning: an empty route: dropped\n" +
				"dictionary.json:1:25: warning: route \"onChat\" is listed twice: the repeat is dropped\n",
		},
		{
			name:    "dictionary of non-routes",
			files:   withServers(map[string]string{"dictionary.json": `{"development": ["onChat", 7]}`}),
			wantErr: `config/dictionary.json:1:28: want a route, found the number 7; write the route in double quotes, e.g. "onChat"`,
		},
		{
			name:     "protos",
			files:    withServers(map[string]string{"serverProtos.json": `{"onChat": {"required string msg": 1}}`, "clientProtos.json": `{}`}),
			wantYAML: "protos:\n  server: config/serverProtos.json\n\n",
		},
		{
			name:    "protos that are not an object",
			files:   withServers(map[string]string{"serverProtos.json": `["onChat"]`}),
			wantErr: `config/serverProtos.json:1:1: want an object of message definitions (pomelo-protobuf's JSON form), found an array; write {"onChat": {"required string msg": 1}}`,
		},
		{
			name:    "syntax errors in every file at once",
			files:   map[string]string{"servers.json": `{"chat": [}`, "master.json": `{"id": 'm'}`},
			wantErr: "config/master.json:1:8: JSON syntax: expected a value, found '''; JSON strings are written in double quotes\n" + `config/servers.json:1:11: JSON syntax: expected a value, found '}'`,
		},
	})
}
