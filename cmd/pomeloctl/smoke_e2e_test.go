package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pomeloctl/pomeloctl/engine/smoke"
)

// processesIn lists the processes that run in dir or name it on their
// command line: whatever a smoke run in dir started and left.
func processesIn(dir string) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cwd, _ := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if cwd == dir || strings.HasPrefix(cwd, dir+"/") || bytes.Contains(cmdline, []byte(dir)) {
			out = append(out, e.Name()+" "+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return out
}

// noneLeft fails the test if anything the smoke run in c.dir started still
// runs once it has exited, or its master left its record.
func noneLeft(t *testing.T, c *testCluster) {
	t.Helper()
	var left []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if left = processesIn(c.dir); len(left) == 0 {
			break
		}
	}
	if len(left) > 0 {
		t.Errorf("the smoke run left processes running:\n%s", strings.Join(left, "\n"))
	}
	if _, err := c.runDir().Master(); err == nil {
		t.Error("the smoke run left its master's record in the run directory")
	}
}

// TestSmokeChat plays examples/chat's own smoke section with the ci
// profile, as .ci/run does: every scenario and chaos step passes, the
// report says what each did, the JUnit XML matches the schema, and
// nothing is left running.
func TestSmokeChat(t *testing.T) {
	c := newTestCluster(t, chatTopology(t))
	junit := filepath.Join(c.dir, "smoke.xml")
	code, out, errOut := c.run("smoke", c.file, "-p", "ci", "--junit", junit, "-o", "json")
	if code != 0 {
		t.Fatalf("smoke: exit %d\n%s\n%s", code, out, errOut)
	}
	var r smoke.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("the JSON report: %v\n%s", err, out)
	}
	if !r.Passed || len(r.Scenarios) != 2 || len(r.Chaos) != 2 {
		t.Fatalf("report: passed %v, %d scenarios, %d chaos steps; want 2 and 2 passed\n%s", r.Passed, len(r.Scenarios), len(r.Chaos), out)
	}
	for _, s := range r.Scenarios {
		if !s.Passed || s.LoggedIn != 30 || s.Requests < 60 || s.Failed != 0 {
			t.Errorf("scenario %s: %+v; want 30 bots in, requests, none failed", s.Name, s)
		}
	}
	if s := r.Scenarios[0]; s.Pushes == 0 {
		t.Errorf("scenario chat heard no push: %+v", s)
	}
	kill, stop := r.Chaos[0], r.Chaos[1]
	if !strings.HasPrefix(kill.Server, "connector-server-") || kill.RecoveredSeconds <= 0 || kill.Counts == nil || kill.Counts.Requests == 0 {
		t.Errorf("chaos kill: %+v; want a connector killed and back, chat played", kill)
	}
	if !strings.HasPrefix(stop.Server, "chat-server-") || stop.MaxFailed != 0 || stop.Counts == nil || stop.Counts.Failed != 0 || stop.Counts.Requests == 0 {
		t.Errorf("chaos stop: %+v; want a chat server restarted with no request of echo failed", stop)
	}
	for _, want := range []string{"scenario chat: ok", "chaos kill connector: ok", "cluster down"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("the progress lacks %q:\n%s", want, errOut)
		}
	}
	checkJUnit(t, junit, 4, 0)
	noneLeft(t, c)
}

// checkJUnit checks a JUnit report against the schema, and its counts.
func checkJUnit(t *testing.T, file string, tests, failures int) string {
	t.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("xmllint is not installed (./install.sh --test installs libxml2-utils)")
	}
	if out, err := exec.Command(xmllint, "--noout", "--schema", "../../engine/smoke/testdata/junit.xsd", file).CombinedOutput(); err != nil {
		t.Fatalf("the JUnit report does not match the schema: %v\n%s", err, out)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	head := `<testsuites name="pomeloctl smoke" tests="` + strconv.Itoa(tests) + `" failures="` + strconv.Itoa(failures) + `"`
	if !strings.Contains(string(data), head) {
		t.Errorf("the JUnit report does not start %s:\n%s", head, data)
	}
	return string(data)
}

// TestSmokeFailures: an expectation that does not hold and a server not
// back in time fail the run (exit 1) with the failures' words, and the end
// of the server's log in the JUnit XML; everything is brought down.
func TestSmokeFailures(t *testing.T) {
	top := chatTopology(t)
	top = top[:strings.Index(top, "\nsmoke:")] + `
smoke:
  scenarios:
    - name: echo
      bots: 2
      login: {gate: gate}
      steps:
        - request: connector.entryHandler.enter
          msg: '{username: bot.name, rid: "r"}'
        - request: chat.chatHandler.echo
          msg: '{n: 1}'
          expect: reply.msg.n == 2
  chaos:
    - stop: gate-server-1
      within: 1ms
`
	c := newTestCluster(t, top)
	junit := filepath.Join(c.dir, "smoke.xml")
	code, out, errOut := c.run("smoke", c.file, "-p", "ci", "--junit", junit)
	if code != 1 {
		t.Fatalf("smoke: exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"FAIL  scenario echo: 2 bots, ",
		`step 2 (request chat.chatHandler.echo): the reply {"code":200,"msg":{"n":1}`,
		"does not match reply.msg.n == 2 (on connector-server-",
		"FAIL  chaos stop gate-server-1 (gate-server-1)\n",
		"gate-server-1 (stopped gracefully) was not running again within 1ms",
		"the end of gate-server-1's log:",
		"smoke FAILED: 0 passed, 2 failed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
	xml := checkJUnit(t, junit, 2, 2)
	if !strings.Contains(xml, "the end of gate-server-1&#39;s log:") {
		t.Errorf("the JUnit report lacks the gate's log:\n%s", xml)
	}
	noneLeft(t, c)
}

// TestSmokeClusterNeverUp: a cluster that does not come up is exit 3,
// with nothing played and nothing left running.
func TestSmokeClusterNeverUp(t *testing.T) {
	top := strings.Replace(chatTopology(t), "  chat:\n", "  chat:\n    command: ./no-such-game\n", 1)
	c := newTestCluster(t, top)
	code, out, errOut := c.run("smoke", c.file, "-p", "ci", "--timeout", "3s")
	if code != exitNotUp {
		t.Fatalf("smoke: exit %d, want %d\n%s\n%s", code, exitNotUp, out, errOut)
	}
	if out != "" || !strings.Contains(errOut, "the cluster never came up, so nothing was played") || !strings.Contains(errOut, "chat-server-1") {
		t.Errorf("want no report and the servers that did not come up named; got\n%s\n%s", out, errOut)
	}
	noneLeft(t, c)
}

// TestSmokeInterrupted: Ctrl-C in the middle of a scenario brings the
// cluster down and fails the run.
func TestSmokeInterrupted(t *testing.T) {
	c := newTestCluster(t, chatTopology(t))
	cmd := exec.Command(c.bin, "smoke", c.file, "-p", "ci", "--port-offset", strconv.Itoa(c.offset))
	cmd.Dir = c.dir
	var out bytes.Buffer
	errR, errW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = &out, errW
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	errW.Close()
	var progress strings.Builder
	buf := make([]byte, 4096)
	for !strings.Contains(progress.String(), "scenario chat: 30 bots") {
		n, err := errR.Read(buf)
		if err != nil {
			_ = cmd.Process.Kill()
			t.Fatalf("smoke ended before it played: %v\n%s", err, progress.String())
		}
		progress.Write(buf[:n])
	}
	time.Sleep(500 * time.Millisecond)
	_ = cmd.Process.Signal(syscall.SIGINT)
	go func() {
		for {
			n, err := errR.Read(buf)
			if err != nil {
				return
			}
			progress.Write(buf[:n])
		}
	}()
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("smoke after Ctrl-C: %v, want exit 1\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "smoke run ended early: stopped") {
		t.Errorf("the report does not say the run was stopped:\n%s", out.String())
	}
	noneLeft(t, c)
}
