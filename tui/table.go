package tui

import (
	"cmp"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/pomeloctl/pomeloctl/engine/admin"
)

// row is one line of the table: a master (with master HA) or a server.
type row struct {
	id, typ, role, state, addr, cpus string
	pid, restarts                    int
	cpu                              float64
	rss                              int64
	conns                            int
	reqs                             float64
	started                          time.Time
	master                           bool
}

// column is one column of the table: its title, the width it wants, and
// how it shows and orders a row. Columns are dropped from the right of
// the list, lowest priority first, when the terminal is narrow.
type column struct {
	title    string
	width    int
	priority int // lower stays longer
	right    bool
	show     func(r row, now time.Time) string
	compare  func(a, b row) int
}

func columns() []column {
	return []column{
		{title: "ID", width: 20, priority: 0, show: func(r row, _ time.Time) string { return r.id }, compare: func(a, b row) int { return strings.Compare(a.id, b.id) }},
		{title: "TYPE", width: 10, priority: 2, show: func(r row, _ time.Time) string { return r.typ }, compare: func(a, b row) int { return strings.Compare(a.typ, b.typ) }},
		{title: "ROLE", width: 8, priority: 3, show: func(r row, _ time.Time) string { return r.role }, compare: func(a, b row) int { return strings.Compare(a.role, b.role) }},
		{title: "STATE", width: 8, priority: 1, show: func(r row, _ time.Time) string { return r.state }, compare: func(a, b row) int { return strings.Compare(a.state, b.state) }},
		{title: "PID", width: 7, priority: 4, right: true, show: func(r row, _ time.Time) string { return orDash(r.pid != 0, strconv.Itoa(r.pid)) }, compare: func(a, b row) int { return cmp.Compare(a.pid, b.pid) }},
		{title: "CPU%", width: 6, priority: 5, right: true, show: func(r row, _ time.Time) string { return orDash(!r.master, fmt.Sprintf("%.1f", r.cpu)) }, compare: func(a, b row) int { return cmp.Compare(a.cpu, b.cpu) }},
		{title: "RSS", width: 7, priority: 6, right: true, show: func(r row, _ time.Time) string { return orDash(!r.master, size(r.rss)) }, compare: func(a, b row) int { return cmp.Compare(a.rss, b.rss) }},
		{title: "CONNS", width: 6, priority: 7, right: true, show: func(r row, _ time.Time) string { return orDash(!r.master, strconv.Itoa(r.conns)) }, compare: func(a, b row) int { return cmp.Compare(a.conns, b.conns) }},
		{title: "REQ/S", width: 7, priority: 8, right: true, show: func(r row, _ time.Time) string { return orDash(!r.master, fmt.Sprintf("%.0f", r.reqs)) }, compare: func(a, b row) int { return cmp.Compare(a.reqs, b.reqs) }},
		{title: "RESTARTS", width: 8, priority: 9, right: true, show: func(r row, _ time.Time) string { return orDash(!r.master, strconv.Itoa(r.restarts)) }, compare: func(a, b row) int { return cmp.Compare(a.restarts, b.restarts) }},
		{title: "UPTIME", width: 7, priority: 10, right: true, show: func(r row, now time.Time) string { return uptime(r, now) }, compare: func(a, b row) int { return b.started.Compare(a.started) }},
		{title: "ADDR", width: 21, priority: 11, show: func(r row, _ time.Time) string { return r.addr }, compare: func(a, b row) int { return strings.Compare(a.addr, b.addr) }},
		{title: "PINNED", width: 7, priority: 12, show: func(r row, _ time.Time) string { return orDash(r.cpus != "", r.cpus) }, compare: func(a, b row) int { return strings.Compare(a.cpus, b.cpus) }},
	}
}

// fit keeps the columns that fit in width, in their order.
func fit(cols []column, width int) []column {
	kept := slices.Clone(cols)
	for len(kept) > 1 {
		total := 0
		for _, c := range kept {
			total += c.width + 1
		}
		if total <= width {
			break
		}
		worst := 0
		for i, c := range kept {
			if c.priority > kept[worst].priority {
				worst = i
			}
		}
		kept = slices.Delete(kept, worst, worst+1)
	}
	return kept
}

// rowsOf makes the table's rows: the masters (with HA) first, then the
// servers, filtered by id or type, ordered by column by (reversed), and
// grouped by type.
func rowsOf(c *cluster, filter string, by column, reverse, group bool) []row {
	var rows []row
	masters := c.master.Masters
	if len(masters) == 0 && c.master.ID != "" {
		// Without master HA, the one master.
		masters = []admin.MasterStatus{{ID: c.master.ID, Addr: c.master.Addr, Role: "leader"}}
	}
	for _, ms := range masters {
		r := row{id: ms.ID, typ: "master", role: ms.Role, state: ms.Role, addr: ms.Addr, master: true}
		if len(c.master.Masters) == 0 {
			r.role, r.state = "master", "running"
		}
		if ms.Role == "leader" && ms.ID == c.master.ID {
			r.pid = c.master.Pid
			r.started = c.master.Started
		}
		if matches(r, filter) {
			rows = append(rows, r)
		}
	}
	first := len(rows)
	for _, id := range c.order {
		s := c.servers[id]
		r := row{id: s.ID, typ: s.Type, role: "backend", state: s.State, pid: s.Pid, cpus: s.CPUs, cpu: s.CPU, rss: s.RSS,
			conns: s.Connections, reqs: s.RequestsPerSecond, restarts: s.Restarts, started: s.Started, addr: addrOf(s.ServerStatus)}
		if s.Frontend {
			r.role = "frontend"
		}
		if s.Draining && r.state == "running" {
			r.state = "draining" // out of the gates' rotation, its players on
		}
		if matches(r, filter) {
			rows = append(rows, r)
		}
	}
	servers := rows[first:]
	slices.SortStableFunc(servers, func(a, b row) int {
		if group {
			if n := strings.Compare(a.typ, b.typ); n != 0 {
				return n
			}
		}
		n := by.compare(a, b)
		if reverse {
			n = -n
		}
		return cmp.Or(n, strings.Compare(a.id, b.id))
	})
	return rows
}

func matches(r row, filter string) bool {
	if filter == "" {
		return true
	}
	f := strings.ToLower(filter)
	return strings.Contains(strings.ToLower(r.id), f) || strings.Contains(strings.ToLower(r.typ), f)
}

// addrOf is host:port, with the client port after a slash.
func addrOf(s admin.ServerStatus) string {
	a := s.Host
	if s.Port != 0 {
		a = net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	}
	if s.ClientPort != 0 {
		if s.Port == 0 {
			a += ":-"
		}
		a += "/" + strconv.Itoa(s.ClientPort)
	}
	return a
}

// renderRow lays a row out in the columns, the state coloured.
func (m *Model) renderRow(r row, cols []column, selected bool) string {
	var b strings.Builder
	for i, c := range cols {
		if i > 0 {
			b.WriteByte(' ')
		}
		cell := pad(c.show(r, m.now()), c.width, c.right)
		if c.title == "STATE" && !selected {
			cell = m.styles.stateStyle(r.state).Render(cell)
		}
		b.WriteString(cell)
	}
	line := b.String()
	if selected {
		return m.styles.selected.Render(line)
	}
	return line
}

// renderHeader is the columns' titles.
func (m *Model) renderHeader(cols []column) string {
	var b strings.Builder
	for i, c := range cols {
		if i > 0 {
			b.WriteByte(' ')
		}
		title := c.title
		if c.title == m.sortBy().title {
			title += map[bool]string{false: "↑", true: "↓"}[m.reverse]
		}
		b.WriteString(pad(title, c.width, c.right))
	}
	return m.styles.colHeader.Render(b.String())
}

// pad cuts s to width (with …) and pads it, left or right aligned.
func pad(s string, width int, right bool) string {
	s = ansi.Truncate(s, width, "…")
	if right {
		return strings.Repeat(" ", width-lipgloss.Width(s)) + s
	}
	return s + strings.Repeat(" ", width-lipgloss.Width(s))
}

func orDash(ok bool, s string) string {
	if !ok {
		return "-"
	}
	return s
}

// size is a byte count as ls shows it: 12.8M.
func size(n int64) string {
	switch {
	case n <= 0:
		return "-"
	case n >= 1<<30:
		return fmt.Sprintf("%.1fG", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fM", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%.0fK", float64(n)/(1<<10))
	}
}

// uptime is how long a running server (or the leader) has run.
func uptime(r row, now time.Time) string {
	if r.started.IsZero() || (!r.master && r.state != "running") {
		return "-"
	}
	d := now.Sub(r.started)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
