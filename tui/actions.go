package tui

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/pomeloctl/pomeloctl/engine/admin"
)

// verbKey acts on row r for an action key: kill and promote ask first.
func (m *Model) verbKey(k tea.KeyMsg, r row) tea.Cmd {
	switch {
	case key.Matches(k, m.keys.Kill):
		return m.ask("kill", r)
	case key.Matches(k, m.keys.Promote):
		return m.ask("promote", r)
	case key.Matches(k, m.keys.Restart):
		return m.act("restart", r.id)
	case key.Matches(k, m.keys.Stop):
		return m.act("stop", r.id)
	}
	return nil
}

// ask puts a question before a kill or a promotion.
func (m *Model) ask(verb string, r row) tea.Cmd {
	if why := m.readOnly(); why != "" {
		m.setStatus(why, nil)
		m.statusErr = true
		return nil
	}
	switch {
	case verb == "promote" && (!r.master || r.role != "standby"):
		m.setStatus("P promotes a standby master: choose one in the table", nil)
		m.statusErr = true
		return nil
	case verb == "kill" && r.master:
		m.setStatus("a master is not killed from here: promote a standby, or pomeloctl down", nil)
		m.statusErr = true
		return nil
	}
	text := fmt.Sprintf("%s %s?", verb, r.id)
	if verb == "kill" && r.pid != 0 {
		text = fmt.Sprintf("kill %s (pid %d) with SIGKILL?", r.id, r.pid)
	}
	if verb == "promote" {
		text = fmt.Sprintf("promote %s to lead the cluster?", r.id)
	}
	m.confirm = &question{text: text + " y/n", do: m.act(verb, r.id)}
	return nil
}

// answer takes y (act) or anything else (do not).
func (m *Model) answer(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	q := m.confirm
	m.confirm = nil
	if key.Matches(k, m.keys.Yes) {
		return m, q.do
	}
	m.setStatus("nothing done", nil)
	return m, nil
}

// act runs an admin verb on id in the background; its outcome comes back
// as a statusMsg.
func (m *Model) act(verb, id string, args ...string) tea.Cmd {
	if why := m.readOnly(); why != "" {
		m.setStatus(why, nil)
		m.statusErr = true
		return nil
	}
	cl, ctx := m.client, m.ctx
	m.setStatus(verb+" "+id+"…", nil)
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, admin.DefaultTimeout)
		defer cancel()
		var err error
		done := verb + " " + id + ": done"
		switch verb {
		case "kill":
			err, done = cl.Kill(ctx, id), id+" killed"
		case "restart":
			err, done = cl.Restart(ctx, id), id+" restarted"
		case "stop":
			err, done = cl.Stop(ctx, append([]string{id}, args...)...), strings.Join(append([]string{id}, args...), ", ")+" stopped"
		case "promote":
			err, done = cl.Promote(ctx, id), id+" promoted: it leads once elected"
		}
		if err != nil {
			return statusMsg{text: verb + " " + id, err: err}
		}
		return statusMsg{text: done}
	}
}

// openInput opens the filter or the command line.
func (m *Model) openInput(of, value string) {
	in := textinput.New()
	in.Prompt = map[string]string{"filter": "/", "command": ":"}[of]
	in.SetValue(value)
	in.CursorEnd()
	in.Focus()
	m.input, m.inputOf = &in, of
}

func (m *Model) inputKey(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	switch k.Type {
	case tea.KeyEsc:
		if m.inputOf == "filter" {
			m.filter = ""
			m.rebuild()
		}
		m.input = nil
		return m, nil
	case tea.KeyEnter:
		value := strings.TrimSpace(m.input.Value())
		of := m.inputOf
		m.input = nil
		if of == "command" {
			return m, m.command(value)
		}
		return m, nil
	}
	var cmd tea.Cmd
	*m.input, cmd = m.input.Update(k)
	if m.inputOf == "filter" {
		m.filter = m.input.Value()
		m.rebuild()
	}
	return m, cmd
}

// command runs a line of the command line: the CLI's verbs.
func (m *Model) command(line string) tea.Cmd {
	f := strings.Fields(line)
	if len(f) == 0 {
		return nil
	}
	need := func(n int, usage string) bool {
		if len(f) < n {
			m.setStatus("usage: "+usage, nil)
			m.statusErr = true
			return false
		}
		return true
	}
	switch f[0] {
	case "q", "quit":
		m.quit()
		return tea.Quit
	case "kill", "promote":
		if !need(2, f[0]+" ID") {
			return nil
		}
		for _, r := range m.rows {
			if r.id == f[1] {
				return m.ask(f[0], r)
			}
		}
		return m.act(f[0], f[1]) // the master says what is wrong with it
	case "restart":
		if !need(2, "restart ID") {
			return nil
		}
		return m.act("restart", f[1])
	case "stop":
		if !need(2, "stop ID...") {
			return nil
		}
		return m.act("stop", f[1], f[2:]...)
	case "logs":
		if !need(2, "logs ID") {
			return nil
		}
		return m.open(logsView, f[1])
	case "add":
		if !need(2, "add TYPE [ID] [HOST] [PORT] [CLIENT-PORT]") {
			return nil
		}
		req := admin.AddRequest{Type: f[1]}
		for i, v := range f[2:] {
			switch i {
			case 0:
				req.ID = v
			case 1:
				req.Host = v
			case 2, 3:
				n, err := strconv.Atoi(v)
				if err != nil {
					m.setStatus(fmt.Sprintf("add: %q is not a port", v), nil)
					m.statusErr = true
					return nil
				}
				if i == 2 {
					req.Port = n
				} else {
					req.ClientPort = n
				}
			}
		}
		return m.add(req)
	case "help":
		m.view = helpView
		return nil
	}
	m.setStatus(fmt.Sprintf("no command %q: kill, restart, stop, add, promote, logs, help, quit", f[0]), nil)
	m.statusErr = true
	return nil
}

// add starts a server of a type in the background.
func (m *Model) add(req admin.AddRequest) tea.Cmd {
	if why := m.readOnly(); why != "" {
		m.setStatus(why, nil)
		m.statusErr = true
		return nil
	}
	cl, ctx := m.client, m.ctx
	m.setStatus("adding a "+req.Type+" server…", nil)
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, admin.DefaultTimeout)
		defer cancel()
		st, err := cl.Add(ctx, req)
		if err != nil {
			return statusMsg{text: "add " + req.Type, err: err}
		}
		return statusMsg{text: fmt.Sprintf("%s added (%s), pid %d", st.ID, st.State, st.Pid)}
	}
}

// addForm is the small form behind a: the type, and optionally the id,
// host and ports.
type addForm struct {
	fields []textinput.Model
	focus  int
}

var addFields = []string{"type", "id", "host", "port", "client port"}

func newAddForm(r row, ok bool) *addForm {
	f := &addForm{}
	for _, name := range addFields {
		in := textinput.New()
		in.Prompt = fmt.Sprintf("%-12s", name)
		in.Placeholder = map[string]string{"type": "a declared server type", "id": "generated", "host": "the type's", "port": "the next free", "client port": "the next free"}[name]
		f.fields = append(f.fields, in)
	}
	if ok && !r.master {
		f.fields[0].SetValue(r.typ)
	}
	f.fields[0].Focus()
	return f
}

func (m *Model) formKey(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	f := m.form
	switch k.Type {
	case tea.KeyEsc:
		m.form = nil
		m.setStatus("nothing added", nil)
		return m, nil
	case tea.KeyTab, tea.KeyDown, tea.KeyShiftTab, tea.KeyUp:
		f.fields[f.focus].Blur()
		step := 1
		if k.Type == tea.KeyShiftTab || k.Type == tea.KeyUp {
			step = len(f.fields) - 1
		}
		f.focus = (f.focus + step) % len(f.fields)
		f.fields[f.focus].Focus()
		return m, nil
	case tea.KeyEnter:
		req := admin.AddRequest{Type: strings.TrimSpace(f.fields[0].Value()), ID: strings.TrimSpace(f.fields[1].Value()), Host: strings.TrimSpace(f.fields[2].Value())}
		if req.Type == "" {
			m.setStatus("add: the type is required", nil)
			m.statusErr = true
			return m, nil
		}
		for i, p := range []*int{&req.Port, &req.ClientPort} {
			v := strings.TrimSpace(f.fields[3+i].Value())
			if v == "" {
				continue
			}
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 || n > 65535 {
				m.setStatus(fmt.Sprintf("add: %s %q is not a port", addFields[3+i], v), nil)
				m.statusErr = true
				return m, nil
			}
			*p = n
		}
		m.form = nil
		return m, m.add(req)
	}
	var cmd tea.Cmd
	f.fields[f.focus], cmd = f.fields[f.focus].Update(k)
	return m, cmd
}
