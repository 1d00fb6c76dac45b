package monitor

import (
	"slices"
	"testing"
)

// The sorted view is made once per change and shared until the next.
func TestViewIsRebuiltOnlyOnChange(t *testing.T) {
	a := NewAgent(AgentConfig{})
	ids := func(ms []Member) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.ID)
		}
		return out
	}
	a.applyMembers(&membersMsg{Joined: []Member{{ID: "chat-2"}, {ID: "chat-1"}}})
	v1, g1 := a.View()
	v2, g2 := a.View()
	if !slices.Equal(ids(v1), []string{"chat-1", "chat-2"}) || g1 != g2 || &v1[0] != &v2[0] {
		t.Fatalf("views %v (gen %d) and %v (gen %d): want one shared sorted view", ids(v1), g1, ids(v2), g2)
	}
	a.applyMembers(&membersMsg{Joined: []Member{{ID: "chat-0"}}, Left: []string{"chat-2"}})
	v3, g3 := a.View()
	if !slices.Equal(ids(v3), []string{"chat-0", "chat-1"}) || g3 == g1 {
		t.Errorf("after a change: %v (gen %d, was %d)", ids(v3), g3, g1)
	}
	if !slices.Equal(ids(v1), []string{"chat-1", "chat-2"}) {
		t.Errorf("a view handed out earlier changed under its holder: %v", ids(v1))
	}
	a.setView([]Member{{ID: "chat-0"}, {ID: "chat-1"}}, true) // the same members
	if _, g4 := a.View(); g4 != g3 {
		t.Errorf("an unchanged full list changed the generation: %d → %d", g3, g4)
	}
}
