package scripting

// SmokeEnv is what an expression of a smoke scenario sees (pomeloctl
// smoke): the bot running it, the state it kept from earlier steps, and
// the reply or push the step got.
type SmokeEnv struct {
	Bot   SmokeBot       `expr:"bot"`
	State map[string]any `expr:"state"`
	// Reply is the decoded reply of the step's request (nil before it).
	Reply any `expr:"reply"`
	// Push is the decoded push the step waited for (nil before it).
	Push any `expr:"push"`
	// Msg is what the step's request or notify sent, for save.
	Msg any `expr:"msg"`
}

// SmokeBot names a bot, so that each can vary what it sends.
type SmokeBot struct {
	Name      string `expr:"name"`      // SCENARIO-INDEX, unique in the run
	Index     int    `expr:"index"`     // 0 to bots-1
	Scenario  string `expr:"scenario"`  // the scenario's name
	Iteration int    `expr:"iteration"` // how many times it went through the steps before
	Run       string `expr:"run"`       // differs from one smoke run to the next
}

// CompileSmoke compiles a smoke step's msg, expect or save expression. It
// may compute, but acts on nothing: what a bot does is its steps.
func CompileSmoke(src string) (*Program[SmokeEnv], error) {
	return compile[SmokeEnv](src, `e.g. {username: bot.name, rid: "smoke"}`, append(functions(), valueFunctions()...))
}
