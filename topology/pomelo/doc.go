// Package pomelo is `pomeloctl import`'s adapter: it turns a Pomelo project's JSON
// configuration (game-server/config: servers.json, master.json, masterha.json,
// adminUser.json, adminServer.json, dictionary.json and the protobuf files) into a
// pomeloctl topology file.
//
// Pomelo reads its files with Node's require, which takes anything JSON.parse takes
// and silently tolerates what its own code does not look at. An import must instead
// say what it could not carry over, and where: so the files are read with a small
// JSON parser of this package that keeps the line and column of every key and value
// and the order of object members (server types, cluster groups and proto fields are
// ordered), and every value that is changed or dropped on the way becomes a
// topology.Warning naming the JSON file, line and column.
//
// Columns count characters (runes) from 1, a tab being one, as the topology loader
// counts them in YAML files.
package pomelo
