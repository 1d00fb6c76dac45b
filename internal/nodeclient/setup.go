package nodeclient

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The npm packages, pinned so every run tests against the same bytes. The
// install folder is named by a hash of these strings, so changing one
// installs afresh beside the old folder.
const (
	pkgWS       = "ws@8.23.0"
	pkgProtocol = "pomelo-protocol@0.1.6"
	pkgJSClient = "pomelo-jsclient-websocket@0.1.1"
	// The global channel plugin, whose Redis keys pomeloctl's global
	// channels share (its manager is run alone: no Pomelo server needed).
	pkgGlobalChannel = "pomelo-globalchannel-plugin@0.0.7"
	// pomelo itself is only packed, never installed: its dependencies are
	// a server's, and the one file wanted is the template's browser bundle.
	pkgPomelo     = "pomelo@2.2.7"
	buildJSMember = "package/template/web-server/public/js/lib/build/build.js"
	// layoutVersion changes when the folder's layout does.
	layoutVersion = "nodeclient-1"

	minNodeMajor = 18
	completeFile = ".complete"
)

// Conditions Setup reports, so a caller can tell a machine without Node from
// a broken install.
var (
	ErrNoNode   = errors.New("node (Node.js) not found in PATH")
	ErrNoNpm    = errors.New("npm not found in PATH")
	ErrOldNode  = errors.New("node too old")
	ErrRegistry = errors.New("npm registry unreachable")
)

//go:embed testdata/*.js
var scriptFS embed.FS

// Env is a folder with Pomelo's client code from npm, installed once per
// package list and shared by every test binary on the machine.
type Env struct {
	// Dir holds node_modules/ (ws, pomelo-protocol, pomelo-jsclient-websocket)
	// and pomelo/build.js.
	Dir string
	// Node is the node binary the scripts run with, NodeVersion its version.
	Node        string
	NodeVersion string
	// scripts is the folder the embedded harness scripts were written to.
	scripts string
}

// Setup returns the Env, installing it under os.TempDir() first if this
// package list has not been installed there yet. A lock file keeps parallel
// test binaries from installing at the same time; the install is built in a
// temporary folder and renamed into place, so a crash never leaves half a
// folder behind. Without node or npm, or with the registry unreachable (and
// the packages not in npm's cache), the error says so and wraps ErrNoNode,
// ErrNoNpm, ErrOldNode or ErrRegistry.
func Setup(ctx context.Context) (*Env, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("nodeclient: %w: Pomelo interop tests need Node.js %d+ and npm", ErrNoNode, minNodeMajor)
	}
	version, err := nodeVersion(ctx, node)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(os.TempDir(), "pomeloctl-npm-"+packagesKey())
	if !complete(dir) {
		if err := installLocked(ctx, dir); err != nil {
			return nil, err
		}
	}
	scripts, err := writeScripts(dir)
	if err != nil {
		return nil, err
	}
	return &Env{Dir: dir, Node: node, NodeVersion: version, scripts: scripts}, nil
}

// packagesKey names the install folder after what goes into it.
func packagesKey() string {
	h := sha256.Sum256([]byte(strings.Join([]string{layoutVersion, pkgWS, pkgProtocol, pkgJSClient, pkgGlobalChannel, pkgPomelo, buildJSMember}, "\n")))
	return hex.EncodeToString(h[:6])
}

func nodeVersion(ctx context.Context, node string) (string, error) {
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("nodeclient: %s --version: %w", node, err)
	}
	v := strings.TrimSpace(string(out))
	majorText, _, ok := strings.Cut(strings.TrimPrefix(v, "v"), ".")
	major, err := strconv.Atoi(majorText)
	if !ok || err != nil {
		return "", fmt.Errorf("nodeclient: %s --version printed %q", node, v)
	}
	if major < minNodeMajor {
		return "", fmt.Errorf("nodeclient: %w: %s is %s, want %d or newer", ErrOldNode, node, v, minNodeMajor)
	}
	return v, nil
}

// complete reports whether dir is a finished install. The marker is written
// last, inside the temporary folder, before the rename.
func complete(dir string) bool {
	for _, p := range []string{
		completeFile,
		filepath.Join("pomelo", "build.js"),
		filepath.Join("node_modules", "ws", "package.json"),
		filepath.Join("node_modules", "pomelo-protocol", "package.json"),
		filepath.Join("node_modules", "pomelo-jsclient-websocket", "lib", "pomelo-client.js"),
		filepath.Join("node_modules", "pomelo-globalchannel-plugin", "package.json"),
	} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			return false
		}
	}
	return true
}

func installLocked(ctx context.Context, dir string) error {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("nodeclient: %w: Pomelo interop tests install their clients with npm", ErrNoNpm)
	}
	unlock, err := lockFile(ctx, dir+".lock")
	if err != nil {
		return fmt.Errorf("nodeclient: lock %s.lock: %w", dir, err)
	}
	defer unlock()
	// Another test binary may have finished while this one waited.
	if complete(dir) {
		return nil
	}
	return install(ctx, npm, dir)
}

func install(ctx context.Context, npm, dir string) error {
	start := time.Now()
	tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("nodeclient: %w", err)
	}
	defer os.RemoveAll(tmp) // nothing left to remove once renamed

	// --prefer-offline: npm's cache answers first, so a machine that has
	// installed these once needs no registry, and a warm run is quicker.
	if _, err := runNpm(ctx, npm, tmp, "install", "--no-audit", "--no-fund", "--no-save",
		"--no-package-lock", "--prefer-offline", "--prefix", tmp, pkgWS, pkgProtocol, pkgJSClient, pkgGlobalChannel); err != nil {
		return err
	}
	out, err := runNpm(ctx, npm, tmp, "pack", "--json", "--prefer-offline", pkgPomelo)
	if err != nil {
		return err
	}
	var packed []struct {
		Filename string `json:"filename"`
	}
	if err := json.Unmarshal(out, &packed); err != nil || len(packed) != 1 {
		return fmt.Errorf("nodeclient: npm pack %s printed %q", pkgPomelo, out)
	}
	tgz := filepath.Join(tmp, filepath.Base(packed[0].Filename))
	if err := extractMember(tgz, buildJSMember, filepath.Join(tmp, "pomelo", "build.js")); err != nil {
		return fmt.Errorf("nodeclient: %s: %w", pkgPomelo, err)
	}
	if err := os.Remove(tgz); err != nil {
		return fmt.Errorf("nodeclient: %w", err)
	}
	note, err := json.MarshalIndent(map[string]any{
		"packages":  []string{pkgWS, pkgProtocol, pkgJSClient, pkgGlobalChannel, pkgPomelo + ":" + buildJSMember},
		"installed": time.Now().UTC().Format(time.RFC3339),
		"took":      time.Since(start).Round(time.Millisecond).String(),
	}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, completeFile), note, 0o644); err != nil {
		return fmt.Errorf("nodeclient: %w", err)
	}
	// An incomplete folder here is debris of an older layout or a manual
	// copy; the lock is held, so nobody else is using it.
	if _, err := os.Stat(dir); err == nil {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("nodeclient: clearing incomplete %s: %w", dir, err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("nodeclient: %w", err)
	}
	return nil
}

// offline reports whether npm's output says it could not reach the registry.
func offline(output string) bool {
	for _, s := range []string{
		"ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT",
		"ENETUNREACH", "EHOSTUNREACH", "ERR_SOCKET_TIMEOUT", "network request",
		"request to https://", "E502", "E503", "E504",
	} {
		if strings.Contains(output, s) {
			return true
		}
	}
	return false
}

// runNpm runs npm in dir and returns its stdout; a failure carries the tail
// of its output and, if it looks like the network, ErrRegistry.
func runNpm(ctx context.Context, npm, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, npm, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"npm_config_update_notifier=false",
		"npm_config_fund=false",
		"npm_config_audit=false",
		"npm_config_loglevel=error",
		// npm's defaults (2 retries 10-60 s apart, 5 min per request) keep
		// an offline machine waiting minutes before saying so.
		"npm_config_fetch_retries=1",
		"npm_config_fetch_retry_mintimeout=1000",
		"npm_config_fetch_retry_maxtimeout=5000",
		"npm_config_fetch_timeout=60000",
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err == nil {
		return stdout.Bytes(), nil
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("nodeclient: npm %s: %w", args[0], ctx.Err())
	}
	msg := tail(stderr.String()+stdout.String(), 2000)
	if offline(msg) {
		return nil, fmt.Errorf("nodeclient: %w: npm %s: %s", ErrRegistry, strings.Join(args, " "), msg)
	}
	return nil, fmt.Errorf("nodeclient: npm %s: %w\n%s", strings.Join(args, " "), err, msg)
}

// tail keeps the end of npm's output, at most n bytes, without the stack
// trace npm prints after a fetch error: the lines before it name the cause.
func tail(s string, n int) string {
	var keep []string
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if strings.HasPrefix(strings.TrimSpace(strings.TrimPrefix(line, "npm error")), "at ") {
			break
		}
		keep = append(keep, line)
	}
	s = strings.Join(keep, "\n")
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// extractMember copies one file out of a .tgz.
func extractMember(tgz, member, dst string) error {
	f, err := os.Open(tgz)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%s not in %s", member, filepath.Base(tgz))
		}
		if err != nil {
			return err
		}
		if path.Clean(h.Name) != member {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		out, err := os.Create(dst)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, tr); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	}
}

// writeScripts puts the embedded harness scripts into dir/scripts-<hash>/:
// named by content so a changed script never runs stale, written to a
// temporary folder and renamed so concurrent binaries never see half a file.
// The scripts find node_modules by walking up from there, as Node does.
func writeScripts(dir string) (string, error) {
	entries, err := fs.Glob(scriptFS, "testdata/*.js")
	if err != nil {
		return "", err
	}
	sort.Strings(entries)
	h := sha256.New()
	files := make(map[string][]byte, len(entries))
	for _, name := range entries {
		b, err := scriptFS.ReadFile(name)
		if err != nil {
			return "", err
		}
		files[path.Base(name)] = b
		fmt.Fprintf(h, "%s %d\n", path.Base(name), len(b))
		h.Write(b)
	}
	final := filepath.Join(dir, "scripts-"+hex.EncodeToString(h.Sum(nil))[:12])
	if _, err := os.Stat(filepath.Join(final, WSClient)); err == nil {
		return final, nil
	}
	tmp, err := os.MkdirTemp(dir, "scripts.tmp-")
	if err != nil {
		return "", fmt.Errorf("nodeclient: %w", err)
	}
	defer os.RemoveAll(tmp)
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			return "", fmt.Errorf("nodeclient: %w", err)
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		// Lost the race to another binary writing the same content.
		if _, statErr := os.Stat(filepath.Join(final, WSClient)); statErr == nil {
			return final, nil
		}
		return "", fmt.Errorf("nodeclient: %w", err)
	}
	return final, nil
}
