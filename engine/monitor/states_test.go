package monitor

import (
	"testing"
)

// Agents learn the servers' supervision states from the master: those set
// before they registered in the welcome, later changes as they happen, and
// each change counts as a change of the view (OnMembers runs, View's
// number moves) so that routing derived from it is made again.
func TestAgentsLearnSupervisionStates(t *testing.T) {
	h := startHub(t, HubConfig{MasterID: "master-1", Settle: -1}, "")
	h.SetState("chat-2", "backoff")
	a := newTestAgent(t, "s1", h.url).start(t)
	eventually(t, "the welcome's states", func() bool { return a.State("chat-2") == "backoff" })
	_, gen := a.View()

	h.SetState("chat-2", "stopped")
	eventually(t, "the change", func() bool { return a.State("chat-2") == "stopped" })
	if _, now := a.View(); now == gen {
		t.Error("a change of state left the view's number as it was")
	}
	if a.State("chat-9") != "" {
		t.Errorf("a server the master said nothing of: %q", a.State("chat-9"))
	}
}
