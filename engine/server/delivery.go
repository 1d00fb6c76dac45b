package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/connector"
	"github.com/pomeloctl/pomeloctl/engine/monitor"
	"github.com/pomeloctl/pomeloctl/engine/rpc"
)

// CodeRestarting answers a request whose server is stopped, or was
// restarting for longer than its restart.wait.
const CodeRestarting = 503

// delivery is a forwarded request on its way to the server its router
// picked. That server may be down — killed and restarting, or draining
// for a restart: the request then waits for it to come back, within the
// server's restart.wait, rather than going to another server of the type
// (which holds other rooms) or failing. A request whose server refused it
// unrun (stopping), or whose connection broke before the answer, is sent
// again to the server's next process: a handler that was running when its
// process was killed may run again, on the restarted server.
type delivery struct {
	sv       *Services
	ctx      context.Context
	route    string // the client's
	to, typ  string
	payload  []byte
	notify   bool
	reply    func(any, error)
	deadline time.Time // zero until the server is first found down
	resent   bool      // sent again at once after a broken connection
}

// attempt sends the request if its server runs, and waits for it otherwise.
func (d *delivery) attempt() {
	cur, running := d.sv.peers.current(d.to)
	if !running {
		go d.await(monitor.Member{})
		return
	}
	if d.notify {
		err := d.sv.node.Notify(d.ctx, d.to, routeForward, d.payload)
		d.sv.metrics.Called(routeForward, d.to, err)
		d.reply(nil, err)
		return
	}
	d.sv.node.Go(d.ctx, d.to, routeForward, d.payload, func(res []byte, err error) {
		// On the connection's reading goroutine, which must not block.
		d.sv.metrics.Called(routeForward, d.to, err)
		switch {
		case !retryable(err) || d.sv.peers.agent == nil:
			d.reply(forwardAnswer(d.route, d.to, res, err))
		case resendAtOnce(err, &d.resent):
			go d.attempt()
		default:
			go d.await(cur)
		}
	})
}

// resendAtOnce reports whether a call that failed with err goes again at
// once, before any wait: a connection can break under a server that is
// alive (it forgot this one, which had left the cluster, say). Once per
// wait: if the server is gone, the next attempt fails as fast.
func resendAtOnce(err error, resent *bool) bool {
	if !errors.Is(err, rpc.ErrPeerGone) || *resent {
		return false
	}
	*resent = true
	return true
}

// await waits for the server to run as another process than gone, then
// attempts again; past the wait, it answers that the server is not back.
func (d *delivery) await(gone monitor.Member) {
	wait := d.sv.peers.restartWait(d.to, d.typ)
	if d.deadline.IsZero() {
		d.deadline = time.Now().Add(wait)
	}
	if ok, state := d.sv.peers.awaitBack(d.ctx, d.to, gone, d.deadline); !ok {
		d.reply(nil, notBack(d.route, d.to, state, wait))
		return
	}
	d.resent = false
	d.attempt()
}

// retryable reports the failures of a call that the server did not answer
// because it stopped or died: it refused the call unrun, or its connection
// broke (or could not be made) first.
func retryable(err error) bool {
	return errors.Is(err, rpc.ErrStopping) || errors.Is(err, rpc.ErrPeerGone)
}

func notBack(route, id, state string, wait time.Duration) error {
	if state == StateStopped {
		return &connector.Error{Code: CodeRestarting, Msg: fmt.Sprintf("%s could not be handled: %s is stopped, and will not be back until it is started again", route, id)}
	}
	return &connector.Error{Code: CodeRestarting, Msg: fmt.Sprintf("%s could not be handled: %s is restarting, and was not back within %s (its restart.wait)", route, id, wait)}
}

// callWhenBack is Node.Call to server id that, like a delivery, waits for
// the server while it is down and calls its next process again when it
// stopped or died before answering, within its restart.wait.
func (sv *Services) callWhenBack(ctx context.Context, id, route string, body []byte) ([]byte, error) {
	var deadline time.Time
	gone := monitor.Member{}
	resent := false
	for {
		if cur, running := sv.peers.current(id); running {
			res, err := sv.node.Call(ctx, id, route, body)
			sv.metrics.Called(route, id, err)
			switch {
			case !retryable(err) || sv.peers.agent == nil:
				return res, err
			case resendAtOnce(err, &resent):
				continue
			}
			gone = cur
		}
		// Waiting, off the path of a call that goes through.
		typ := ""
		if s := sv.peers.t.Server(id); s != nil {
			typ = s.Type
		} else if gone.ID == "" {
			// Neither declared nor running when called.
			return nil, fmt.Errorf("%w: no server %s in the cluster", rpc.ErrPeerGone, id)
		}
		wait := sv.peers.restartWait(id, typ)
		if deadline.IsZero() {
			deadline = time.Now().Add(wait)
		}
		if ok, state := sv.peers.awaitBack(ctx, id, gone, deadline); !ok {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			return nil, notBack(route, id, state, wait)
		}
		resent = false
	}
}
