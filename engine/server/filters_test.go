package server

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// slowGame is a game type whose handler game.gameHandler.slow waits the
// message's ms, then notes its n, in the order handled.
type slowGame struct {
	mu      sync.Mutex
	handled []int
	started chan int // each n as its handling starts
}

func (g *slowGame) app() *App {
	g.started = make(chan int, 16)
	app := NewApp()
	app.Handle("game.gameHandler.slow", func(ctx context.Context, s *BackendSession, msg json.RawMessage) (any, error) {
		var m struct{ N, Ms int }
		if err := json.Unmarshal(msg, &m); err != nil {
			return nil, err
		}
		g.started <- m.N
		select {
		case <-time.After(time.Duration(m.Ms) * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		g.mu.Lock()
		g.handled = append(g.handled, m.N)
		g.mu.Unlock()
		return map[string]int{"n": m.N}, nil
	})
	return app
}

func (g *slowGame) order() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.handled)
}

// filtersTopology is exprTopology's servers under the filters given.
func filtersTopology(filters string) string {
	return "filters:\n" + filters + strings.TrimPrefix(exprTopology, "\nmaster: {port: 3005}\n")
}

// sendBoth sends a slow request (n 1, ms) and, once the backend handles
// it, a quick one (n 2) on the same connection, and gives the answers in
// the order they came.
func sendBoth(t *testing.T, c *exprCluster, g *slowGame, ms int) []string {
	cl := c.dial(t)
	var mu sync.Mutex
	var answers []string
	var wg sync.WaitGroup
	for n, wait := range []int{ms, 0} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := request(t, cl, "game.gameHandler.slow", `{"n":`+strconv.Itoa(n+1)+`,"ms":`+strconv.Itoa(wait)+`}`)
			mu.Lock()
			answers = append(answers, got)
			mu.Unlock()
		}()
		if n == 0 {
			<-g.started
		}
	}
	wg.Wait()
	return answers
}

// serial holds a session's next request until the one before it is
// answered, across the hop to the backend; without it, a quick request
// overtakes a slow one.
func TestSerialFilterKeepsOrderAcrossTheHop(t *testing.T) {
	free := &slowGame{}
	sendBoth(t, runExprCluster(t, exprTopology, free.app()), free, 300)
	if got := free.order(); !slices.Equal(got, []int{2, 1}) {
		t.Fatalf("without serial, handled %v; want the quick request first", got)
	}
	g := &slowGame{}
	c := runExprCluster(t, filtersTopology("  before: [serial]\n"), g.app())
	answers := sendBoth(t, c, g, 300)
	if got := g.order(); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("with serial, handled %v; want 1 then 2", got)
	}
	slices.Sort(answers)
	if !slices.Equal(answers, []string{`{"n":1}`, `{"n":2}`}) {
		t.Errorf("with serial, answered %v", answers)
	}
}

func TestToobusyRefusesPastItsBound(t *testing.T) {
	g := &slowGame{}
	c := runExprCluster(t, filtersTopology("  before: [{name: toobusy, maxInflight: 1}]\n"), g.app())
	slow := make(chan string, 1)
	go func() { slow <- request(t, c.dial(t), "game.gameHandler.slow", `{"n":1,"ms":400}`) }()
	<-g.started
	other := c.dial(t)
	if m := answer(t, request(t, other, "game.gameHandler.slow", `{"n":2}`)); m["code"] != float64(CodeBusy) || !strings.Contains(m["msg"].(string), "too busy (1 requests in flight)") {
		t.Errorf("a request past the bound: %v", m)
	}
	if got := <-slow; got != `{"n":1}` {
		t.Errorf("the request in flight: %s", got)
	}
	if got := request(t, other, "game.gameHandler.slow", `{"n":3}`); got != `{"n":3}` {
		t.Errorf("once it is done: %s", got)
	}
}

func TestTimeoutFilterGivesUp(t *testing.T) {
	g := &slowGame{}
	c := runExprCluster(t, filtersTopology("  before: [{name: timeout, timeout: 100ms}]\n"), g.app())
	m := answer(t, request(t, c.dial(t), "game.gameHandler.slow", `{"n":1,"ms":1000}`))
	if m["code"] != float64(500) || !strings.Contains(m["msg"].(string), "did not answer in time") {
		t.Errorf("a request past its timeout: %v", m)
	}
	c.waitLog(t, "a request took longer than its bound", "route=game.gameHandler.slow")
}

// An expression filter refuses with its code and message; a type's
// filters apply to that type's routes only; blacklist refuses listed
// users; after filters and the error handler see each answer.
func TestFiltersInExpr(t *testing.T) {
	c := runExprCluster(t, strings.Replace(filtersTopology(`  before: [{name: blacklist, uids: [mallory]}]
  after:
    - time
    - {expr: 'log("after", route, err?.code ?? 200, reply?.server ?? "-")'}
  onError: 'err.code == 401 ? {code: 401, error: true, why: err.message} : nil'
`), "  game:\n", "  game:\n    filters: {before: [{expr: 'session.uid != \"\"', code: 401, message: log in first}]}\n", 1), nil)
	cl := c.dial(t)
	if got := request(t, cl, "game.gameHandler.echo", `{}`); got != `{"code":401,"error":true,"why":"log in first"}` {
		t.Errorf("before login, through the error handler: %s", got)
	}
	// The after filters see what happened; the client gets what the error
	// handler made of it.
	c.waitLog(t, `msg="after game.gameHandler.echo 401 -"`)
	c.waitLog(t, "msg=request", "route=game.gameHandler.echo", "code=401")
	request(t, cl, "connector.entryHandler.login", `{"uid":"alice"}`) // not a game route: the game's filter does not apply
	if m := answer(t, request(t, cl, "game.gameHandler.echo", `{}`)); m["server"] != "game-1" {
		t.Errorf("after login: %v", m)
	}
	c.waitLog(t, `msg="after game.gameHandler.echo 200 game-1"`)
	c.waitLog(t, "msg=request", "route=game.gameHandler.echo", "code=200")
	// A refusal the error handler does not replace stays an error.
	if got := request(t, cl, "game.gameHandler.divide", `{"by":0}`); !strings.Contains(got, `"code":500`) {
		t.Errorf("a 500: %s", got)
	}
	m := c.dial(t)
	request(t, m, "connector.entryHandler.login", `{"uid":"mallory"}`)
	if got := request(t, m, "game.gameHandler.echo", `{}`); got != `{"code":403,"msg":"refused: this user is blacklisted"}` {
		t.Errorf("mallory: %s", got)
	}
}
