package tui

import (
	"io"
	"os"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// styles are every colour and emphasis the UI uses, made for one output.
type styles struct {
	header, title, dim, key, status, errStatus, selected, colHeader lipgloss.Style
	box, dialog                                                     lipgloss.Style
	state                                                           map[string]lipgloss.Style
}

// newStyles makes the styles for out: no colours when it is not a
// terminal that has them, or when NO_COLOR is set.
func newStyles(out io.Writer, color bool) styles {
	r := lipgloss.NewRenderer(out)
	if !color || os.Getenv("NO_COLOR") != "" {
		r.SetColorProfile(termenv.Ascii)
	}
	c := func(s string) lipgloss.Color { return lipgloss.Color(s) }
	st := styles{
		header:    r.NewStyle().Bold(true),
		title:     r.NewStyle().Bold(true).Foreground(c("12")),
		dim:       r.NewStyle().Foreground(c("8")),
		key:       r.NewStyle().Bold(true).Foreground(c("12")),
		status:    r.NewStyle().Foreground(c("10")),
		errStatus: r.NewStyle().Bold(true).Foreground(c("9")),
		selected:  r.NewStyle().Reverse(true),
		colHeader: r.NewStyle().Bold(true).Underline(true),
		box:       r.NewStyle().Border(lipgloss.RoundedBorder()).Padding(0, 1),
		dialog:    r.NewStyle().Border(lipgloss.DoubleBorder()).Padding(0, 2).BorderForeground(c("11")),
		state: map[string]lipgloss.Style{
			"running":  r.NewStyle().Foreground(c("10")),
			"starting": r.NewStyle().Foreground(c("11")),
			"stopping": r.NewStyle().Foreground(c("11")),
			"draining": r.NewStyle().Foreground(c("11")),
			"backoff":  r.NewStyle().Foreground(c("13")),
			"exited":   r.NewStyle().Foreground(c("9")),
			"failed":   r.NewStyle().Bold(true).Foreground(c("9")),
			"stopped":  r.NewStyle().Foreground(c("8")),
			"leader":   r.NewStyle().Bold(true).Foreground(c("14")),
			"standby":  r.NewStyle().Foreground(c("6")),
			"absent":   r.NewStyle().Foreground(c("9")),
		},
	}
	return st
}

// stateStyle colours a state (or a master's role).
func (s styles) stateStyle(state string) lipgloss.Style {
	if st, ok := s.state[state]; ok {
		return st
	}
	return s.dim
}
