package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// -screenshot makes TestChatPage write the page as the first player sees
// it to docs/chat-page.png, which the README shows:
//
//	go test ./cmd/pomeloctl -run TestChatPage -screenshot
var screenshot = flag.Bool("screenshot", false, "TestChatPage: write the chat page as the first player sees it to docs/chat-page.png")

// TestChatPage plays examples/chat as a new user would after `pomeloctl
// up examples/chat/topology.yaml`: up serves the demo's page (its web
// section), headless Chromium opens it twice, two players enter one room,
// and each one's message shows on the other's page; then a whisper, and a
// closed tab leaving the room. The pages must log no error.
func TestChatPage(t *testing.T) {
	browser := chromium(t)
	c := newTestCluster(t, chatTopology(t))
	out := c.must("up", c.file, "-d", "--timeout", "30s")
	defer c.must("down")
	url := fmt.Sprintf("http://127.0.0.1:%d/", 3001+c.offset)
	if !strings.Contains(out, "its web page: "+url+"\n") {
		t.Errorf("up -d does not name the page %s:\n%s", url, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	allocCtx, stopBrowser := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.NoSandbox, // the tests run as root in CI, where Chromium's sandbox refuses to start
		chromedp.UserDataDir(t.TempDir()),
	)...)
	defer stopBrowser()
	alice := openPage(t, allocCtx)
	bob := openPage(t, alice.ctx) // another tab of the same browser

	alice.enter(url, "alice", "lobby")
	alice.waitFor("her own name in the room's list", `users().join() === "alice"`)
	bob.enter(url, "bob", "lobby")
	bob.waitFor("both in bob's list", `users().join() === "alice,bob"`)
	alice.waitFor("bob in alice's list (onAdd)", `users().join() === "alice,bob"`)

	alice.say("*", "hello bob, welcome to the lobby")
	bob.waitFor("alice's message on bob's page", said("alice", "hello bob, welcome to the lobby"))
	bob.say("*", "hi alice! the page works")
	alice.waitFor("bob's message on alice's page", said("bob", "hi alice! the page works"))
	alice.waitFor("alice's own message on her page", said("alice", "hello bob, welcome to the lobby"))
	bob.say("alice", "psst: this one is for you alone")
	alice.waitFor("bob's whisper on alice's page", said("bob → you", "psst: this one is for you alone"))
	bob.waitFor("bob's whisper on his own page", said("bob → alice", "psst: this one is for you alone"))

	if *screenshot {
		png, err := chromedp.Run(alice.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile("../../docs/chat-page.png", png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// bob closes his tab: he leaves the room (onLeave).
	for _, p := range []*page{bob, alice} {
		if errs := p.close(); len(errs) > 0 {
			t.Errorf("%s's page logged errors:\n%s", p.who, strings.Join(errs, "\n"))
		}
		if p == bob {
			alice.waitFor("bob gone from alice's list (onLeave)", `users().join() === "alice" && document.getElementById("messages").textContent.includes("bob left")`)
		}
	}
}

// chromium is Debian's chromium (./install.sh --test installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Fatal("this test needs Chromium: install Debian's chromium package (./install.sh --test does)")
	return ""
}

// page is one browser tab playing the chat page.
type page struct {
	t      *testing.T
	who    string
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	errs   []string // what the page logged as errors, and what it threw
	done   chan struct{}
}

// openPage opens a tab (the browser's first starts the browser) and
// collects the errors it logs.
func openPage(t *testing.T, parent context.Context) *page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent)
	p := &page{t: t, ctx: ctx, cancel: cancel, done: make(chan struct{})}
	// The browser lives as long as the context of the first Run: the
	// tab's own, not one with a deadline of its own.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(920, 540)); err != nil {
		cancel()
		t.Fatalf("start Chromium: %v", err)
	}
	go func() {
		defer close(p.done)
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				p.mu.Lock()
				p.errs = append(p.errs, m.String())
				p.mu.Unlock()
			}
		}
	}()
	return p
}

// enter logs in as chatofpomelo's page does: name, room, Enter.
func (p *page) enter(url, name, room string) {
	p.t.Helper()
	p.who = name
	err := chromedp.Do(p.ctx,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SetValue(chromedp.CSS("#name"), name),
		chromedp.SetValue(chromedp.CSS("#rid"), room),
		chromedp.Click(chromedp.CSS("#login button")),
	)
	if err != nil {
		p.t.Fatalf("%s: log in: %v", name, err)
	}
	p.waitFor("the room", `!document.getElementById("chat").hidden || document.getElementById("login-error").textContent`)
	if msg, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.getElementById("login-error").textContent`)); msg != "" {
		p.t.Fatalf("%s: the page did not log in: %s", name, msg)
	}
}

// say sends text to a player of the room, or to everyone ("*").
func (p *page) say(to, text string) {
	p.t.Helper()
	err := chromedp.Do(p.ctx,
		chromedp.SetValue(chromedp.CSS("#target"), to),
		chromedp.SetValue(chromedp.CSS("#text"), text),
		chromedp.Click(chromedp.CSS("#say button")),
	)
	if err != nil {
		p.t.Fatalf("%s: send %q: %v", p.who, text, err)
	}
}

// waitFor waits until the JavaScript predicate is true on the page, where
// users() lists the room's list of players.
func (p *page) waitFor(what, predicate string) {
	p.t.Helper()
	const users = `const users = () => [...document.querySelectorAll("#users li")].map((li) => li.textContent);`
	_, err := chromedp.Run(p.ctx, chromedp.PollFunction[chromedp.Void](`() => { `+users+` return `+predicate+`; }`,
		chromedp.WithPollingTimeout(15*time.Second)))
	if err != nil {
		text, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.body.innerText`))
		p.t.Fatalf("%s: waiting for %s: %v\nthe page shows:\n%s", p.who, what, err, text)
	}
}

// said is a predicate: the page shows text from a player.
func said(from, text string) string {
	f, _ := json.Marshal(from)
	x, _ := json.Marshal(text)
	return fmt.Sprintf(`[...document.querySelectorAll("#messages li.msg")].some((li) => li.querySelector("b").textContent === %s && li.querySelector("span").textContent === %s)`, f, x)
}

// close closes the tab and returns the errors it logged.
func (p *page) close() []string {
	p.cancel()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.errs
}

// The web section's port held by another program: up says so at once,
// naming the address, and starts nothing; the port's owner is untouched.
// Once the port is free, up serves the page, and down stops it.
func TestUpWebPortTaken(t *testing.T) {
	c := newTestCluster(t, chatTopology(t))
	addr := c.port(3001)
	other, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := c.run("up", c.file, "-d", "--timeout", "30s")
	other.Close()
	if code != exitFailure || !strings.Contains(errOut, "the web server cannot listen on "+addr) || !strings.Contains(errOut, "address already in use") {
		t.Errorf("up with %s taken: exit %d, want %d and the address named:\n%s%s", addr, code, exitFailure, out, errOut)
	}
	if left := mentioning(c.dir); len(left) != 0 {
		t.Errorf("up failed, yet processes of the cluster run: %v", left)
	}

	c.must("up", c.file, "-d", "--timeout", "30s")
	if !webReady(addr) {
		t.Errorf("after up, no page at %s", addr)
	}
	c.must("down")
	if webReady(addr) {
		t.Errorf("after down, the page is still served at %s", addr)
	}
	waitWithin(t, 5*time.Second, "no process of the cluster left", func() bool { return len(mentioning(c.dir)) == 0 })
}
