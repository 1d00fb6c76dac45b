package tui

import (
	"fmt"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/pomeloctl/pomeloctl/engine/admin"
)

// loaded is a UI showing a cluster of n servers, as after its snapshot.
func loaded(n int) (*Model, admin.Event) {
	m := New(Config{Now: func() time.Time { return clock }})
	m.width, m.height, m.connected, m.addr = 120, 40, true, "127.0.0.1:3005"
	var servers []admin.ServerStatus
	for i := range n {
		servers = append(servers, admin.ServerStatus{ID: fmt.Sprintf("chat-server-%d", i+1), Type: "chat", State: "running", Pid: 1000 + i,
			Host: "127.0.0.1", Port: 6050 + i, CPU: float64(i % 7), RSS: 12 << 20, Started: clock.Add(-time.Hour)})
	}
	info := admin.MasterInfo{Name: "big", ID: "master-server-1", Epoch: 1, Ready: true}
	m.c.apply(admin.Event{Kind: admin.KindSnapshot, Servers: servers, Master: &info})
	m.rebuild()
	return m, admin.Event{Kind: admin.KindStats, Servers: servers, Master: &info}
}

// A key press on a table of 1,000 servers: the model's Update and the
// screen drawn again (goal: under 50 ms).
func BenchmarkKeyPress1000(b *testing.B) {
	m, _ := loaded(1000)
	down, up := tea.KeyMsg{Type: tea.KeyDown}, tea.KeyMsg{Type: tea.KeyUp}
	b.ResetTimer()
	for i := range b.N {
		k := down
		if i/500%2 == 1 {
			k = up
		}
		m.Update(k)
		_ = m.View()
	}
}

// A second's stats for 1,000 servers folded in, the rows made again and
// the screen drawn: what the UI does every second on such a cluster.
func BenchmarkStats1000(b *testing.B) {
	m, stats := loaded(1000)
	b.ResetTimer()
	for range b.N {
		m.Update(eventMsg{stats})
		_ = m.View()
	}
}

// Sorting by another column on 1,000 servers.
func BenchmarkSort1000(b *testing.B) {
	m, _ := loaded(1000)
	o := tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("o")}
	b.ResetTimer()
	for range b.N {
		m.Update(o)
		_ = m.View()
	}
}
