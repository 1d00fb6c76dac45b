package pomelo

import (
	"strings"
	"testing"
)

// mappingCase imports config files and checks a block of the topology, the
// warnings and the error.
type mappingCase struct {
	name     string
	files    map[string]string // under config/
	wantYAML string            // a block the topology must contain
	wantWarn string
	wantErr  string
}

func runMapping(t *testing.T, tests []mappingCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{}
			for name, body := range tt.files {
				files["config/"+name] = body
			}
			dir := writeTree(t, files)
			got, warns, err := importTree(t, dir, []string{"config"}, "")
			if err != tt.wantErr {
				t.Fatalf("import %v:\ngot error  %s\nwant error %s", tt.files, err, tt.wantErr)
			}
			if !strings.Contains(got, tt.wantYAML) {
				t.Errorf("import %v:\ngot:\n%s\nwant it to contain:\n%s", tt.files, got, tt.wantYAML)
			}
			warns = strings.ReplaceAll(warns, "config/", "")
			if warns != tt.wantWarn {
				t.Errorf("import %v: warnings\ngot:\n%s\nwant:\n%s", tt.files, warns, tt.wantWarn)
			}
		})
	}
}

func servers(json string) map[string]string { return map[string]string{"servers.json": json} }

func TestImportServers(t *testing.T) {
	runMapping(t, []mappingCase{
		{
			name:  "wsPort and no frontend key",
			files: servers(`{"connector": [{"id": "c-1", "host": "127.0.0.1", "port": 4050, "wsPort": 3050}]}`),
			wantYAML: `
  connector:
    frontend: true
    instances:
      - {id: c-1, host: 127.0.0.1, port: 4050, clientPort: 3050}
`,
			wantWarn: "servers.json:1:65: warning: wsPort is Pomelo 0.x's name for clientPort: imported as clientPort\n" +
				"servers.json:1:65: warning: a server with a client port and no \"frontend\" key: imported as a frontend\n",
		},
		{
			name:  "wsPort beside clientPort",
			files: servers(`{"gate": [{"id": "g-1", "clientPort": 3014, "wsPort": 3015, "frontend": true}]}`),
			wantYAML: `
      - {id: g-1, clientPort: 3014}
`,
			wantWarn: "servers.json:1:45: warning: wsPort is Pomelo 0.x's name for clientPort, which is set too: wsPort dropped\n",
		},
		{
			name:  "numbers and booleans written as strings",
			files: servers(`{"gate": [{"id": "g-1", "clientPort": "3014", "frontend": "true", "cpu": "2", "max-connections": "500", "auto-restart": "true"}]}`),
			wantYAML: `
  gate:
    frontend: true
    connector:
      maxConnections: 500
    restart: on-failure
    instances:
      - {id: g-1, clientPort: 3014, cpu: 2}
`,
		},
		{
			name:  "settings keep their JSON types",
			files: servers(`{"area": [{"id": "a-1", "port": 3250, "area": "1", "scene": 2, "n": 1.5, "big": 1e400, "open": false, "list": [1, "x", null], "obj": {"b": 1, "a": {}}}]}`),
			wantYAML: `
      - {id: a-1, port: 3250, settings: {area: "1", scene: 2, n: 1.5, big: .inf, open: false, list: [1, x, null], obj: {b: 1, a: {}}}}
`,
		},
		{
			name:  "args dropped",
			files: servers(`{"chat": [{"id": "chat-1", "port": 6050, "args": "--debug=5858"}]}`),
			wantYAML: `
      - {id: chat-1, port: 6050}
`,
			wantWarn: "servers.json:1:42: warning: args (\"--debug=5858\") are Node.js options, which mean nothing to a Go server: dropped\n",
		},
		{
			name: "restart shared by the type, and per server",
			files: servers(`{"chat": [{"id": "c-1", "port": 1, "auto-restart": true}, {"id": "c-2", "port": 2, "auto-restart": true}],
 "area": [{"id": "a-1", "port": 3, "auto-restart": true}, {"id": "a-2", "port": 4, "restart-force": true}, {"id": "a-3", "port": 5, "auto-restart": false}]}`),
			wantYAML: `
  chat:
    restart: on-failure
    instances:
      - {id: c-1, port: 1}
      - {id: c-2, port: 2}

  area:
    instances:
      - {id: a-1, port: 3, restart: on-failure}
      - {id: a-2, port: 4, restart: {policy: on-failure, force: true}}
      - {id: a-3, port: 5}
`,
		},
		{
			name: "max-connections differ",
			files: servers(`{"connector": [{"id": "c-1", "port": 1, "clientPort": 11, "frontend": true, "max-connections": 1000},
 {"id": "c-2", "port": 2, "clientPort": 12, "frontend": true, "max-connections": 2000}, {"id": "c-3", "port": 3, "clientPort": 13, "frontend": true}]}`),
			wantYAML: `
    connector:
      maxConnections: 2000
`,
			wantWarn: "servers.json:1:2: warning: the servers of type \"connector\" differ in max-connections (1000, 2000 and none): the type's connector.maxConnections is the largest, 2000, for all of them\n",
		},
		{
			name:     "max-connections on a backend",
			files:    servers(`{"chat": [{"id": "c-1", "port": 1, "max-connections": 10}]}`),
			wantYAML: "  chat:\n    instances:\n",
			wantWarn: "servers.json:1:55: warning: max-connections on backend type \"chat\", which accepts no clients: dropped\n",
		},
		{
			name:  "a server's token",
			files: servers(`{"chat": [{"id": "c-1", "port": 1, "token": "abc"}, {"id": "c-2", "port": 2, "token": "${CHAT_TOKEN}"}]}`),
			wantYAML: `
      - {id: c-1, port: 1, token: abc}
      - {id: c-2, port: 2, token: '${CHAT_TOKEN}'}
`,
			wantWarn: "servers.json:1:87: warning: token contains ${, which the topology reads as an environment variable\n",
		},
		{
			name:  "cluster group",
			files: servers(`{"connector": [{"id": "x", "host": "10.0.0.1", "port": "6300++", "clientPort": 6200, "frontend": true, "clusterCount": "4", "token": "t", "cpu": "0-1", "zone": "z++", "restart-force": true}]}`),
			wantYAML: `
  connector:
    frontend: true
    restart: {policy: on-failure, force: true}
    cluster:
      - {count: 4, host: 10.0.0.1, port: 6300++, clientPort: 6200, cpu: 0-1, settings: {zone: z++}}
`,
			wantWarn: "servers.json:1:17: warning: Pomelo ignores the id of a clusterCount group and names its servers cluster-server-connector-<n>: dropped\n" +
				"servers.json:1:125: warning: a cluster group has no token of its own: its servers present master.tokens.connector (adminServer.json); dropped\n" +
				"servers.json:1:161: warning: only ports count up in a cluster group: \"z++\" is copied as it is to every server\n",
		},
		{
			name:  "client port of a backend",
			files: servers(`{"chat": [{"id": "c-1", "port": 1, "clientPort": 2, "frontend": false}]}`),
			wantYAML: `
      - {id: c-1, port: 1}
`,
			wantWarn: "servers.json:1:36: warning: a backend (frontend: false) never listens on its client port: clientPort dropped\n",
		},
		{
			name:     "not a server type",
			files:    servers(`{"comment": "two types", "chat": [{"id": "c-1", "port": 1}], "gate": []}`),
			wantYAML: "servers:\n  chat:\n",
			wantWarn: "servers.json:1:2: warning: \"comment\" is not a server type (its value is \"two types\", not a list of servers): ignored\n" +
				"servers.json:1:62: warning: server type \"gate\" lists no servers: left out\n",
		},
		{
			name:     "a type written twice",
			files:    servers(`{"chat": [{"id": "c-1", "port": 1}], "chat": [{"id": "c-2", "port": 2}]}`),
			wantYAML: "      - {id: c-2, port: 2}\n",
			wantWarn: "servers.json:1:38: warning: \"chat\" is written twice in this object (first at 1:2): JSON.parse, and so Pomelo, keeps this later value\n",
		},
		{
			name:    "frontends and backends mixed",
			files:   servers(`{"connector": [{"id": "c-1", "port": 1, "clientPort": 2, "frontend": true}, {"id": "c-2", "port": 3}]}`),
			wantErr: `config/servers.json:1:77: server type "connector" mixes frontends and backends: this server is a backend, the one at 1:70 a frontend; a type's servers are all frontends or all backends: make them agree, or split the type`,
		},
		{
			name:    "a range outside a cluster",
			files:   servers(`{"chat": [{"id": "c-1", "port": "6050++"}]}`),
			wantErr: `config/servers.json:1:33: "6050++" counts up only in a clusterCount group; write 6050, or add "clusterCount": N to make this a group`,
		},
		{
			name:  "every problem at once",
			files: servers(`{"chat": [{"port": 1}, {"id": "c-2", "port": 70000, "frontend": "yes", "cpu": "a", "clusterCount": 0, "host": null}, 3], "gate": {"id": "g"}}`),
			wantErr: strings.Join([]string{
				`config/servers.json:1:11: a server of type "chat" without an id; write "id": "chat-server-N", or "clusterCount": N for a group`,
				`config/servers.json:1:46: port 70000 is out of range; write a port between 1 and 65535`,
				`config/servers.json:1:65: frontend wants true or false, found "yes"; write true or false`,
				`config/servers.json:1:79: cpu wants a CPU number, found "a"; write a CPU number (2) or a set ("0-3")`,
				`config/servers.json:1:100: clusterCount wants a number of servers, found the number 0; write how many servers the group has, e.g. 8`,
				`config/servers.json:1:111: host wants a string, found null`,
				`config/servers.json:1:118: want a server (an object with id, host, port, ...), found the number 3`,
				`config/servers.json:1:130: server type "gate" is one object, not a list of servers; write the type's servers in a list: "gate": [{...}, ...]`,
			}, "\n"),
		},
	})
}
