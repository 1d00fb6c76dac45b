package pomelo

// dictionary maps dictionary.json, the list of routes the connectors compress to
// numbers. {} and [] both mean none.
func (im *importer) dictionary(f *file) []string {
	sec := im.section(f, anObject)
	if sec == nil || sec.isEmpty() {
		return nil
	}
	if sec.kind != arrayKind {
		im.fail(sec.pos, `write ["onChat", "chat.chatHandler.send", ...]`, "want a list of routes, found %s", sec.describe())
		return nil
	}
	var routes []string
	seen := map[string]bool{}
	for _, item := range sec.items {
		switch {
		case item.kind != stringKind:
			im.fail(item.pos, `write the route in double quotes, e.g. "onChat"`, "want a route, found %s", item.describe())
		case item.text == "":
			im.warn(item.pos, "an empty route: dropped")
		case seen[item.text]:
			im.warn(item.pos, "route %q is listed twice: the repeat is dropped", item.text)
		default:
			seen[item.text] = true
			routes = append(routes, item.text)
		}
	}
	return routes
}

// protos checks serverProtos.json or clientProtos.json, which the topology names
// rather than copies, and reports whether it defines anything. Pomelo reads these
// whole, never by environment.
func (im *importer) protos(f *file) bool {
	if f.root.kind != objectKind {
		im.fail(f.root.pos, `write {"onChat": {"required string msg": 1}}`, "want an object of message definitions (pomelo-protobuf's JSON form), found %s", f.root.describe())
		return false
	}
	return len(f.root.members) > 0
}
