package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// View draws the screen: only what is on it, whatever the cluster's size.
func (m *Model) View() string {
	var body string
	switch m.view {
	case helpView:
		body = m.helpScreen()
	case detailView:
		body = m.detailScreen()
	case logsView:
		body = m.logsScreen()
	default:
		body = m.tableScreen()
	}
	if m.form != nil {
		body = m.formScreen()
	}
	return m.fitScreen(body)
}

// fitScreen cuts every line to the width and the whole to the height, so
// that a narrow or short terminal never wraps.
func (m *Model) fitScreen(s string) string {
	lines := strings.Split(s, "\n")
	if len(lines) > m.height {
		lines = lines[:m.height]
	}
	for i, l := range lines {
		if lipgloss.Width(l) > m.width {
			lines[i] = ansi.Truncate(l, m.width, "")
		}
	}
	return strings.Join(lines, "\n")
}

// header is the first line: the cluster, its leader, ZooKeeper, totals.
func (m *Model) header() string {
	mi := m.c.master
	name := mi.Name
	if name == "" {
		name = "cluster"
	}
	parts := []string{m.styles.title.Render("▸ " + name)}
	switch {
	case !m.connected && m.addr == "":
		parts = append(parts, m.styles.errStatus.Render("connecting…"))
	case !m.connected:
		parts = append(parts, m.styles.errStatus.Render("reconnecting…"))
	default:
		leader := fmt.Sprintf("master %s at %s", mi.ID, m.addr)
		if len(mi.Masters) > 0 {
			leader = fmt.Sprintf("leader %s at %s · epoch %d", mi.ID, m.addr, mi.Epoch)
			for _, ms := range mi.Masters {
				if ms.Role == "leader" {
					leader += " · zk " + ms.Session
				}
			}
		}
		parts = append(parts, leader)
	}
	running, restarts := 0, 0
	for _, s := range m.c.servers {
		if s.State == "running" {
			running++
		}
		restarts += s.Restarts
	}
	parts = append(parts, fmt.Sprintf("%d/%d running · %d restarts", running, len(m.c.servers), restarts))
	return strings.Join(parts, "  ")
}

func (m *Model) tableScreen() string {
	cols := fit(columns(), m.width)
	var b strings.Builder
	b.WriteString(m.header() + "\n")
	b.WriteString(m.renderHeader(cols) + "\n")
	h := m.tableHeight()
	end := min(len(m.rows), m.offset+h)
	for i := m.offset; i < end; i++ {
		b.WriteString(m.renderRow(m.rows[i], cols, i == m.cursor) + "\n")
	}
	for i := end - m.offset; i < h; i++ {
		if i == 0 && len(m.rows) == 0 {
			b.WriteString(m.styles.dim.Render(m.emptyText()) + "\n")
			continue
		}
		b.WriteString("\n")
	}
	b.WriteString(m.statusLine() + "\n")
	b.WriteString(m.footer())
	return b.String()
}

func (m *Model) emptyText() string {
	switch {
	case m.filter != "":
		return fmt.Sprintf("no server's id or type has %q (esc clears the filter)", m.filter)
	case !m.connected:
		return "waiting for the master…"
	}
	return "no servers"
}

// statusLine is the question asked, the last action's outcome, or how
// the table is ordered.
func (m *Model) statusLine() string {
	switch {
	case m.confirm != nil:
		return m.styles.errStatus.Render(m.confirm.text)
	case m.status != "" && m.statusErr:
		return m.styles.errStatus.Render(m.status)
	case m.status != "":
		return m.styles.status.Render(m.status)
	}
	if c := m.c; c.note != "" && time.Since(c.noteAt) < noteFor {
		return m.styles.status.Render(c.note)
	}
	order := "sorted by " + strings.ToLower(m.sortBy().title)
	if m.reverse {
		order += ", reversed"
	}
	if m.group {
		order += ", grouped by type"
	}
	if m.filter != "" {
		order += fmt.Sprintf(", filtered by %q", m.filter)
	}
	if why := m.readOnly(); why != "" && m.connected {
		order += " · " + why
	}
	return m.styles.dim.Render(order)
}

// footer is the input being typed, the add form, or the short help.
func (m *Model) footer() string {
	switch {
	case m.input != nil:
		return m.input.View()
	case m.form != nil:
		return m.styles.dim.Render("adding a server: tab moves, enter adds, esc cancels")
	}
	return m.help.ShortHelpView(m.keys.ShortHelp())
}

// formScreen is the add form, over the header.
func (m *Model) formScreen() string {
	var f strings.Builder
	f.WriteString(m.styles.header.Render("Add a server") + "\n\n")
	for _, in := range m.form.fields {
		f.WriteString(in.View() + "\n")
	}
	f.WriteString("\n" + m.styles.dim.Render("tab: next field · enter: add · esc: cancel"))
	return m.header() + "\n\n" + m.styles.dialog.Render(f.String()) + "\n\n" + m.statusLine()
}

func (m *Model) helpScreen() string {
	h := m.help
	h.ShowAll = true
	var b strings.Builder
	b.WriteString(m.header() + "\n\n")
	b.WriteString(m.styles.header.Render("Keys") + "\n\n")
	b.WriteString(h.FullHelpView(m.keys.FullHelp()) + "\n\n")
	b.WriteString(m.styles.header.Render("Commands (:)") + "\n")
	b.WriteString("  kill ID · restart ID · stop ID... · add TYPE [ID] [HOST] [PORT] [CLIENT-PORT]\n")
	b.WriteString("  promote ID · logs ID · help · quit\n\n")
	b.WriteString(m.styles.dim.Render("esc or ? goes back"))
	return b.String()
}

// leftWidth is the detail view's left part: all of it on a narrow
// terminal, else three fifths, the config beside it.
func (m *Model) leftWidth() int {
	if m.width >= 100 {
		return m.width * 3 / 5
	}
	return m.width
}

// detailTop is how many lines the detail view gives its top part before
// the log tail.
func detailTop(height int) int { return max(8, height/2+2) }

func (m *Model) detailScreen() string {
	id := m.selected
	var b strings.Builder
	b.WriteString(m.header() + "\n")
	top := detailTop(m.height)
	var left []string
	s := m.c.servers[id]
	if s != nil {
		role := "backend"
		if s.Frontend {
			role = "frontend"
		}
		left = append(left, fmt.Sprintf("%s · %s · %s · %s", m.styles.header.Render(s.ID), s.Type, role, m.styles.stateStyle(s.State).Render(s.State)))
		where := addrOf(s.ServerStatus)
		if s.Pid != 0 {
			where = fmt.Sprintf("pid %d · %s", s.Pid, where)
		}
		if s.CPUs != "" {
			where += " · pinned to cpus " + s.CPUs
		}
		left = append(left, where)
		if s.Reason != "" {
			left = append(left, m.styles.dim.Render(s.Reason))
		}
		// Two sparklines a line, in what the config leaves of the width.
		w := max(8, (m.leftWidth()-36)/2)
		left = append(left,
			fmt.Sprintf("cpu   %s %5.1f%%   rss   %s %s", sparkline(s.cpu, w), s.CPU, sparkline(s.rss, w), size(s.RSS)),
			fmt.Sprintf("conns %s %6d   req/s %s %.0f", sparkline(s.conns, w), s.Connections, sparkline(s.reqs, w), s.RequestsPerSecond),
			m.styles.header.Render(fmt.Sprintf("recent changes (%d restarts)", s.Restarts)))
		for i := max(0, len(s.changes)-4); i < len(s.changes); i++ {
			ch := s.changes[i]
			left = append(left, fmt.Sprintf("  %s %s → %s  %s", ch.at.Format("15:04:05"), ch.From, m.styles.stateStyle(ch.To).Render(ch.To), m.styles.dim.Render(ch.Reason)))
		}
	} else {
		left = append(left, m.styles.header.Render(id)+" · master")
	}
	var right []string
	if m.config != "" {
		right = append(right, m.styles.header.Render("config"))
		right = append(right, strings.Split(m.config, "\n")...)
	}
	lw := m.width
	if len(right) > 0 {
		lw = m.leftWidth()
	}
	for i := 0; i < top-2; i++ {
		l := ""
		if i < len(left) {
			l = left[i]
		}
		if lw < m.width {
			l = pad(l, lw, false)
			if i < len(right) {
				l += " " + m.styles.dim.Render(right[i])
			}
		} else if i >= len(left) && i-len(left) < len(right) && len(left) < top-2 {
			l = m.styles.dim.Render(right[i-len(left)])
		}
		b.WriteString(l + "\n")
	}
	b.WriteString(m.styles.header.Render("log") + m.styles.dim.Render("  (l: full screen, G: follow, esc: back)") + "\n")
	b.WriteString(m.log.View())
	return b.String()
}

func (m *Model) logsScreen() string {
	var b strings.Builder
	b.WriteString(m.header() + "\n")
	follow := "following"
	if !m.follow {
		follow = "scrolled back (G follows again)"
	}
	b.WriteString(m.styles.header.Render("log of "+m.selected) + m.styles.dim.Render("  "+follow+" · esc: back") + "\n")
	b.WriteString(m.log.View() + "\n")
	b.WriteString(m.statusLine())
	return b.String()
}

// sparkline draws the last width samples of h as bars, scaled to their
// own highest.
func sparkline(h []float64, width int) string {
	const bars = "▁▂▃▄▅▆▇█"
	levels := []rune(bars)
	if len(h) > width {
		h = h[len(h)-width:]
	}
	top := 0.0
	for _, v := range h {
		top = max(top, v)
	}
	var b strings.Builder
	for range width - len(h) {
		b.WriteRune(' ')
	}
	for _, v := range h {
		i := 0
		if top > 0 {
			i = int(v / top * float64(len(levels)-1))
		}
		b.WriteRune(levels[i])
	}
	return b.String()
}
