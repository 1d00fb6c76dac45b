package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
)

// fake records what happened to it in a shared journal.
type fake struct {
	name            string
	failStart, fail bool
	journal         *[]string
}

func (f *fake) Name() string { return f.name }

func (f *fake) Start(context.Context) error {
	if f.failStart {
		*f.journal = append(*f.journal, "start "+f.name+" failed")
		return errors.New("port in use")
	}
	*f.journal = append(*f.journal, "start "+f.name)
	return nil
}

func (f *fake) Stop(context.Context) error {
	*f.journal = append(*f.journal, "stop "+f.name)
	if f.fail {
		return errors.New("stuck")
	}
	return nil
}

func TestComponents(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name        string
		failStart   string // the component whose start fails
		failStop    string // the component whose stop fails
		failHook    bool   // afterStart fails
		wantStart   string
		wantStop    string
		wantJournal string
	}{
		{name: "start in order, stop in reverse",
			wantJournal: "start monitor, start rpc, start connector, after, before, stop connector, stop rpc, stop monitor"},
		{name: "a failed start rolls back what started, in reverse", failStart: "connector",
			wantStart:   "start connector: port in use",
			wantJournal: "start monitor, start rpc, start connector failed, stop rpc, stop monitor"},
		{name: "a failed afterStart hook rolls everything back", failHook: true,
			wantStart:   "afterStart hook 1: not ready",
			wantJournal: "start monitor, start rpc, start connector, after, stop connector, stop rpc, stop monitor"},
		{name: "a failed stop does not stop the others from stopping", failStop: "rpc",
			wantStop:    "stop rpc: stuck",
			wantJournal: "start monitor, start rpc, start connector, after, before, stop connector, stop rpc, stop monitor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var journal []string
			mk := func(n string) *fake {
				return &fake{name: n, failStart: n == tc.failStart, fail: n == tc.failStop, journal: &journal}
			}
			hooks := Hooks{
				AfterStart: []func(context.Context) error{func(context.Context) error {
					journal = append(journal, "after")
					if tc.failHook {
						return errors.New("not ready")
					}
					return nil
				}},
				BeforeStop: []func(context.Context) error{func(context.Context) error {
					journal = append(journal, "before")
					return errors.New("a failing beforeStop is only logged")
				}},
			}
			cs := NewComponents(quiet, hooks, mk("monitor"), mk("rpc"), mk("connector"))
			err := cs.Start(context.Background())
			if got := errString(err); got != tc.wantStart {
				t.Errorf("Start: got %q, want %q", got, tc.wantStart)
			}
			if err == nil {
				if got := errString(cs.Stop(context.Background())); got != tc.wantStop {
					t.Errorf("Stop: got %q, want %q", got, tc.wantStop)
				}
			}
			if got := strings.Join(journal, ", "); got != tc.wantJournal {
				t.Errorf("journal:\ngot  %s\nwant %s", got, tc.wantJournal)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// provisioning is a component that takes its port before any component
// starts.
type provisioning struct {
	fake
	failProvision bool
}

func (p *provisioning) Provision(context.Context) error {
	if p.failProvision {
		*p.journal = append(*p.journal, "provision "+p.name+" failed")
		return errors.New("address already in use")
	}
	*p.journal = append(*p.journal, "provision "+p.name)
	return nil
}

// Every component that provisions does so before the first starts; a
// provision that fails releases what was provisioned, and nothing starts.
func TestComponentsProvisionFirst(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name, fail, wantStart, wantJournal string
	}{
		{name: "provisions, then starts", wantJournal: "provision rpc, provision frontend, start rpc, start frontend, start monitor"},
		{name: "a provision that fails starts nothing", fail: "frontend", wantStart: "provision frontend: address already in use",
			wantJournal: "provision rpc, provision frontend failed, stop rpc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var journal []string
			mk := func(n string) *provisioning {
				return &provisioning{fake: fake{name: n, journal: &journal}, failProvision: n == tc.fail}
			}
			cs := NewComponents(quiet, Hooks{}, mk("rpc"), mk("frontend"), &fake{name: "monitor", journal: &journal})
			if got := errString(cs.Start(context.Background())); got != tc.wantStart {
				t.Errorf("Start: got %q, want %q", got, tc.wantStart)
			}
			if got := strings.Join(journal, ", "); got != tc.wantJournal {
				t.Errorf("journal:\ngot  %s\nwant %s", got, tc.wantJournal)
			}
		})
	}
}
