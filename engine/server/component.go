package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// Component is a part of a server process with a life of its own.
type Component interface {
	// Name says what the component is in logs and errors.
	Name() string
	// Start brings the component up; it returns once the component serves, and
	// leaves nothing running when it fails.
	Start(ctx context.Context) error
	// Stop brings it down, within ctx's deadline.
	Stop(ctx context.Context) error
}

// Provisioner is a component that takes what it needs before any
// component starts: a frontend its client port, the RPC node its own. All
// are provisioned, in start order, before the first starts, so that a
// server whose port is taken fails before it serves anything or
// registers with the master. A component provisioned but not started is
// released by its Stop.
type Provisioner interface {
	Provision(ctx context.Context) error
}

// Drainer is a component that finishes its work in flight before any
// component stops: a frontend answers its clients' requests and kicks
// them, the RPC node answers the calls it is handling. Drains run in
// reverse start order, before the Stops.
type Drainer interface {
	Drain(ctx context.Context) error
}

// Hooks run at points of a server's life, as Pomelo's afterStart,
// afterStartAll and beforeStop. A failing AfterStart stops the server; a
// failing AfterStartAll or BeforeStop is logged and the server goes on.
type Hooks struct {
	AfterStart []func(ctx context.Context) error
	// AfterStartAll runs once every server of the cluster has started, when
	// the master says so over the monitor link.
	AfterStartAll []func(ctx context.Context) error
	BeforeStop    []func(ctx context.Context) error
}

// Components starts, runs and stops a process's components.
type Components struct {
	list    []Component
	started []Component // provisioned or started, in list order: what Stop releases
	hooks   Hooks
	log     *slog.Logger
}

// NewComponents returns the components of one process, in start order.
func NewComponents(log *slog.Logger, hooks Hooks, list ...Component) *Components {
	return &Components{list: list, hooks: hooks, log: log}
}

// Start provisions every component that provisions, then starts every
// component in order, then runs the afterStart hooks. When one fails,
// those already provisioned or started are stopped in reverse order and
// the error names the one that failed.
func (cs *Components) Start(ctx context.Context) error {
	holds := map[Component]bool{} // provisioned or started: Stop releases it
	hold := func(c Component) {
		holds[c] = true
		cs.started = slices.DeleteFunc(slices.Clone(cs.list), func(c Component) bool { return !holds[c] })
	}
	for _, c := range cs.list {
		if p, ok := c.(Provisioner); ok {
			if err := p.Provision(ctx); err != nil {
				return cs.rollback(fmt.Errorf("provision %s: %w", c.Name(), err))
			}
			hold(c)
		}
	}
	for _, c := range cs.list {
		t0 := time.Now()
		if err := c.Start(ctx); err != nil {
			return cs.rollback(fmt.Errorf("start %s: %w", c.Name(), err))
		}
		hold(c)
		cs.log.Debug("component started", "component", c.Name(), "took", time.Since(t0))
	}
	for i, h := range cs.hooks.AfterStart {
		if err := h(ctx); err != nil {
			return cs.rollback(fmt.Errorf("afterStart hook %d: %w", i+1, err))
		}
	}
	return nil
}

// rollback stops what a failed start holds, and gives back why it failed.
func (cs *Components) rollback(cause error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cs.stopStarted(ctx); err != nil {
		cs.log.Error("rolling back a failed start left errors", "cause", cause, "err", err)
	}
	return cause
}

// Stop runs the beforeStop hooks, drains the started components that drain,
// then stops them, each phase in reverse order and within ctx. Every
// component is asked to stop even when another fails, or fails to drain;
// the errors are joined.
func (cs *Components) Stop(ctx context.Context) error {
	for i, h := range cs.hooks.BeforeStop {
		if err := h(ctx); err != nil {
			cs.log.Warn("beforeStop hook failed; stopping anyway", "hook", i+1, "err", err)
		}
	}
	var errs []error
	for i := len(cs.started) - 1; i >= 0; i-- {
		if d, ok := cs.started[i].(Drainer); ok {
			if err := d.Drain(ctx); err != nil {
				errs = append(errs, fmt.Errorf("drain %s: %w", cs.started[i].Name(), err))
			}
		}
	}
	if ctx.Err() != nil {
		// A drain used all of ctx: the stops still get a moment, for the
		// bye that tells the master this exit is a stop, not a crash.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), stopGrace)
		defer cancel()
	}
	return errors.Join(append(errs, cs.stopStarted(ctx))...)
}

// stopGrace is what the stops get when the drains used up the stop's time.
const stopGrace = 2 * time.Second

func (cs *Components) stopStarted(ctx context.Context) error {
	var errs []error
	for i := len(cs.started) - 1; i >= 0; i-- {
		c := cs.started[i]
		if err := c.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", c.Name(), err))
		}
	}
	cs.started = nil
	return errors.Join(errs...)
}
