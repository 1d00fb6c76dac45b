package tui

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/pomeloctl/pomeloctl/engine/admin"
)

// Config configures the UI.
type Config struct {
	// Connect returns a client of the cluster's leading master, and its
	// address: called at the start and whenever the event stream breaks
	// (a master restarted, a failover), so that the UI follows the leader.
	Connect func(ctx context.Context) (Client, string, error)
	// ReadOnly disables every action; so does a user of level 2.
	ReadOnly bool
	// Output is where the UI draws (for its colours); Color whether it may
	// use them (a terminal; NO_COLOR set turns them off anyway).
	Output io.Writer
	Color  bool
	// Now is the clock (tests fix it); nil is time.Now.
	Now func() time.Time
	// QuitAsks, when set, is asked before q quits (up's UI: quitting
	// brings the cluster down).
	QuitAsks string
}

// view is what fills the screen.
type view int

const (
	tableView view = iota
	detailView
	logsView
	helpView
)

// Model is the UI's state: bubbletea's model.
type Model struct {
	cfg    Config
	keys   keyMap
	styles styles
	help   help.Model
	ctx    context.Context
	cancel context.CancelFunc
	feed   chan tea.Msg

	width, height int
	view          view

	// What the feed says.
	client    Client
	addr      string
	level     int
	connected bool
	lastErr   string
	c         *cluster

	// The table.
	rows    []row
	cursor  int
	offset  int // the first row on screen
	sortCol int
	reverse bool
	group   bool
	filter  string

	// Inputs that take the keyboard: the filter, the command line, a
	// question, the add form.
	input   *textinput.Model
	inputOf string // "filter" or "command"
	confirm *question
	form    *addForm

	// The detail and logs views.
	selected string // the server (or master) they show
	config   string
	log      viewport.Model
	logText  strings.Builder
	logGen   int
	logStop  context.CancelFunc
	follow   bool // keep the log view at its end

	status    string
	statusErr bool
}

// question is an action waiting for y.
type question struct {
	text string
	do   tea.Cmd
}

// New returns the UI's model.
func New(cfg Config) *Model {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Output == nil {
		cfg.Output = io.Discard
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Model{cfg: cfg, keys: newKeyMap(), styles: newStyles(cfg.Output, cfg.Color), help: help.New(), ctx: ctx, cancel: cancel,
		feed: make(chan tea.Msg, 256), width: 80, height: 24, c: newCluster(), sortCol: 0, follow: true}
	m.log = viewport.New(80, 10)
	m.help.ShowAll = false
	return m
}

func (m *Model) now() time.Time { return m.cfg.Now() }

func (m *Model) sortBy() column { return columns()[m.sortCol] }

// Init starts the feed.
func (m *Model) Init() tea.Cmd {
	go runFeed(m.ctx, m.cfg.Connect, m.feed)
	return waitFeed(m.feed)
}

// quitMsg ends the UI.
type quitMsg struct{}

// statusMsg is an action's outcome.
type statusMsg struct {
	text string
	err  error
}

// configMsg is a server's resolved configuration, for the detail view.
type configMsg struct {
	id   string
	text string
}

// Update handles a message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.resizeLog()
		m.clamp()
		return m, nil
	case connectedMsg:
		if m.connected && m.addr == msg.addr {
			return m, waitFeed(m.feed)
		}
		was := m.addr
		m.client, m.addr, m.level, m.connected, m.lastErr = msg.client, msg.addr, msg.level, true, ""
		if was != "" && was != msg.addr {
			m.setStatus("reconnected: the leader is now at "+msg.addr, nil)
		} else if was != "" {
			m.setStatus("reconnected to the master at "+msg.addr, nil)
		}
		if m.view == logsView || m.view == detailView {
			return m, tea.Batch(waitFeed(m.feed), m.startLog())
		}
		return m, waitFeed(m.feed)
	case disconnectedMsg:
		m.connected = false
		if msg.err != nil {
			m.lastErr = msg.err.Error()
		}
		m.setStatus("lost the master ("+m.lastErr+"); looking for the leader…", fmt.Errorf("%s", m.lastErr))
		return m, waitFeed(m.feed)
	case eventMsg:
		m.c.apply(msg.e)
		// Whatever else the feed has is folded in before drawing again:
		// a burst of events costs one rebuild, not one each.
		for more := true; more; {
			select {
			case next := <-m.feed:
				if e, ok := next.(eventMsg); ok {
					m.c.apply(e.e)
					continue
				}
				m.rebuild()
				_, cmd := m.Update(next)
				return m, cmd
			default:
				more = false
			}
		}
		m.rebuild()
		return m, waitFeed(m.feed)
	case logMsg:
		if msg.gen == m.logGen {
			m.appendLog(msg.chunk.Data)
		}
		return m, waitFeed(m.feed)
	case logEndMsg:
		if msg.gen == m.logGen && msg.err != nil {
			m.setStatus("the log stream ended", msg.err)
		}
		return m, waitFeed(m.feed)
	case statusMsg:
		m.setStatus(msg.text, msg.err)
		return m, nil
	case quitMsg:
		m.quit()
		return m, tea.Quit
	case configMsg:
		if msg.id == m.selected {
			m.config = msg.text
		}
		return m, nil
	case tea.KeyMsg:
		return m.key(msg)
	}
	return m, nil
}

func (m *Model) setStatus(text string, err error) {
	m.status, m.statusErr = text, err != nil
	if err != nil && !strings.Contains(text, err.Error()) {
		m.status = text + ": " + err.Error()
	}
}

// rebuild makes the rows again from the cluster, keeping the cursor on
// the same id.
func (m *Model) rebuild() {
	at := ""
	if m.cursor < len(m.rows) {
		at = m.rows[m.cursor].id
	}
	m.rows = rowsOf(m.c, m.filter, m.sortBy(), m.reverse, m.group)
	m.cursor = 0
	for i, r := range m.rows {
		if r.id == at {
			m.cursor = i
			break
		}
	}
	m.clamp()
}

// tableHeight is how many rows fit: the screen less the header, the
// column titles, the status line and the help line.
func (m *Model) tableHeight() int { return max(1, m.height-4) }

// clamp keeps the cursor on a row and on screen.
func (m *Model) clamp() {
	m.cursor = max(0, min(m.cursor, len(m.rows)-1))
	h := m.tableHeight()
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	if m.cursor >= m.offset+h {
		m.offset = m.cursor - h + 1
	}
	m.offset = max(0, min(m.offset, max(0, len(m.rows)-h)))
}

// current is the row under the cursor.
func (m *Model) current() (row, bool) {
	if m.cursor < len(m.rows) {
		return m.rows[m.cursor], true
	}
	return row{}, false
}

func (m *Model) key(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	switch {
	case m.confirm != nil:
		return m.answer(k)
	case m.form != nil:
		return m.formKey(k)
	case m.input != nil:
		return m.inputKey(k)
	}
	if key.Matches(k, m.keys.Quit) && (k.String() == "ctrl+c" || m.view == tableView) {
		if m.cfg.QuitAsks != "" && k.String() != "ctrl+c" {
			m.confirm = &question{text: m.cfg.QuitAsks + " y/n", do: func() tea.Msg { return quitMsg{} }}
			return m, nil
		}
		m.quit()
		return m, tea.Quit
	}
	switch m.view {
	case helpView:
		if key.Matches(k, m.keys.Back, m.keys.Help, m.keys.Quit) {
			m.view = tableView
		}
		return m, nil
	case logsView, detailView:
		return m.pagerKey(k)
	}
	switch {
	case key.Matches(k, m.keys.Up):
		m.cursor--
	case key.Matches(k, m.keys.Down):
		m.cursor++
	case key.Matches(k, m.keys.Top):
		m.cursor = 0
	case key.Matches(k, m.keys.Bottom):
		m.cursor = len(m.rows) - 1
	case key.Matches(k, m.keys.PageUp):
		m.cursor -= m.tableHeight()
	case key.Matches(k, m.keys.PageDown):
		m.cursor += m.tableHeight()
	case key.Matches(k, m.keys.Help):
		m.view = helpView
	case key.Matches(k, m.keys.Sort):
		m.sortCol = (m.sortCol + 1) % len(columns())
		m.rebuild()
	case key.Matches(k, m.keys.Reverse):
		m.reverse = !m.reverse
		m.rebuild()
	case key.Matches(k, m.keys.Group):
		m.group = !m.group
		m.rebuild()
	case key.Matches(k, m.keys.Filter):
		m.openInput("filter", m.filter)
	case key.Matches(k, m.keys.Command):
		m.openInput("command", "")
	case key.Matches(k, m.keys.Back):
		if m.filter != "" {
			m.filter = ""
			m.rebuild()
		}
	case key.Matches(k, m.keys.Detail):
		if r, ok := m.current(); ok {
			return m, m.open(detailView, r.id)
		}
	case key.Matches(k, m.keys.Logs):
		if r, ok := m.current(); ok {
			return m, m.open(logsView, r.id)
		}
	case key.Matches(k, m.keys.Kill, m.keys.Restart, m.keys.Stop, m.keys.Promote):
		if r, ok := m.current(); ok {
			return m, m.verbKey(k, r)
		}
	case key.Matches(k, m.keys.Add):
		if why := m.readOnly(); why != "" {
			m.setStatus(why, nil)
			m.statusErr = true
			return m, nil
		}
		m.form = newAddForm(m.current())
	}
	m.clamp()
	return m, nil
}

// open shows server id in the detail or logs view, and follows its log.
func (m *Model) open(v view, id string) tea.Cmd {
	m.view, m.selected, m.config, m.follow = v, id, "", true
	m.logText.Reset()
	m.log.SetContent("")
	m.resizeLog()
	cmds := []tea.Cmd{m.startLog()}
	if v == detailView && m.client != nil {
		cl, ctx := m.client, m.ctx
		cmds = append(cmds, func() tea.Msg {
			raw, err := cl.Config(ctx, id)
			if err != nil {
				return configMsg{id: id, text: "(" + err.Error() + ")"}
			}
			return configMsg{id: id, text: prettyJSON(raw)}
		})
	}
	return tea.Batch(cmds...)
}

// startLog follows the selected log (a new generation: what an earlier
// follow still sends is dropped).
func (m *Model) startLog() tea.Cmd {
	if m.logStop != nil {
		m.logStop()
	}
	m.logGen++
	if m.client == nil || m.selected == "" {
		return nil
	}
	id := m.selected
	if _, ok := m.c.servers[id]; !ok && id == m.c.master.ID {
		id = "master"
	}
	ctx, stop := context.WithCancel(m.ctx)
	m.logStop = stop
	cl, gen, out := m.client, m.logGen, m.feed
	go followLog(ctx, cl, id, gen, out)
	return nil
}

func (m *Model) closeLog() {
	if m.logStop != nil {
		m.logStop()
		m.logStop = nil
	}
	m.logGen++
}

// maxLog bounds the log kept on screen.
const maxLog = 256 << 10

func (m *Model) appendLog(data string) {
	m.logText.WriteString(data)
	if m.logText.Len() > maxLog {
		text := m.logText.String()
		text = text[len(text)-maxLog/2:]
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			text = text[i+1:]
		}
		m.logText.Reset()
		m.logText.WriteString(text)
	}
	m.log.SetContent(m.logText.String())
	if m.follow {
		m.log.GotoBottom()
	}
}

// pagerKey handles keys in the detail and logs views.
func (m *Model) pagerKey(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	switch {
	case key.Matches(k, m.keys.Back, m.keys.Quit):
		m.closeLog()
		m.view = tableView
		return m, nil
	case key.Matches(k, m.keys.Logs) && m.view == detailView:
		m.view = logsView
		m.resizeLog()
		return m, nil
	case key.Matches(k, m.keys.Kill, m.keys.Restart, m.keys.Stop, m.keys.Promote):
		for _, r := range m.rows {
			if r.id == m.selected {
				return m, m.verbKey(k, r)
			}
		}
		return m, nil
	case key.Matches(k, m.keys.Bottom):
		m.follow = true
		m.log.GotoBottom()
		return m, nil
	}
	var cmd tea.Cmd
	m.log, cmd = m.log.Update(k)
	m.follow = m.log.AtBottom()
	return m, cmd
}

func (m *Model) resizeLog() {
	m.log.Width = m.width
	h := m.height - 3
	if m.view == detailView {
		h = m.height - detailTop(m.height)
	}
	m.log.Height = max(1, h)
	if m.follow {
		m.log.GotoBottom()
	}
}

func (m *Model) quit() {
	m.closeLog()
	m.cancel()
}

func prettyJSON(raw json.RawMessage) string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	out, _ := json.MarshalIndent(v, "", "  ")
	return string(out)
}

// readOnly says why actions are off, or "".
func (m *Model) readOnly() string {
	switch {
	case m.cfg.ReadOnly:
		return "read-only (--readonly): no action is taken"
	case m.connected && m.level > admin.LevelAct:
		return fmt.Sprintf("read-only: this admin user is level %d, and only level 1 may act", m.level)
	case m.client == nil:
		return "not connected to a master yet"
	}
	return ""
}
