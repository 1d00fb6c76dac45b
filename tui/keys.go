package tui

import "github.com/charmbracelet/bubbles/key"

// keyMap is every key the UI answers, in one place: the help view lists
// them from here.
type keyMap struct {
	Up, Down, Top, Bottom, PageUp, PageDown key.Binding
	Detail, Logs, Back, Quit, Help          key.Binding
	Filter, Command, Sort, Reverse, Group   key.Binding
	Kill, Restart, Stop, Add, Promote       key.Binding
	Yes, No                                 key.Binding
}

func newKeyMap() keyMap {
	return keyMap{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Top:      key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/home", "first")),
		Bottom:   key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G/end", "last")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+f"), key.WithHelp("pgdn", "page down")),
		Detail:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "detail")),
		Logs:     key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "follow logs")),
		Back:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Quit:     key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Help:     key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Filter:   key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter by id or type")),
		Command:  key.NewBinding(key.WithKeys(":"), key.WithHelp(":", "command")),
		Sort:     key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "sort by the next column")),
		Reverse:  key.NewBinding(key.WithKeys("O"), key.WithHelp("O", "reverse the order")),
		Group:    key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "group by type")),
		Kill:     key.NewBinding(key.WithKeys("ctrl+k"), key.WithHelp("ctrl+k", "kill (asks)")),
		Restart:  key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "restart")),
		Stop:     key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "stop")),
		Add:      key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "add a server")),
		Promote:  key.NewBinding(key.WithKeys("P"), key.WithHelp("P", "promote a standby (asks)")),
		Yes:      key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "yes")),
		No:       key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", "no")),
	}
}

// ShortHelp is the line under the table.
func (k keyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Help, k.Detail, k.Logs, k.Filter, k.Kill, k.Restart, k.Quit}
}

// FullHelp is the help view, a column a concern.
func (k keyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.Top, k.Bottom, k.PageUp, k.PageDown},
		{k.Detail, k.Logs, k.Filter, k.Sort, k.Reverse, k.Group},
		{k.Kill, k.Restart, k.Stop, k.Add, k.Promote, k.Command},
		{k.Help, k.Back, k.Quit},
	}
}
