#!/usr/bin/env bash
# install.sh — build and install pomeloctl, install what it needs, run its tests.
#
#   ./install.sh          build pomeloctl into $PREFIX/bin (default /usr/local as
#                         root, ~/.local otherwise), and the chat demo's game
#                         into examples/chat/chat
#   ./install.sh --deps   also install ZooKeeper and Redis from the OS packages when
#                         missing (needed only for master HA and global channels)
#   ./install.sh --test   run every test: format, vet, staticcheck, the Go tests
#                         (with the race detector) and the fuzz targets' seed corpora,
#                         then the chat demo's smoke run (pomeloctl smoke -p ci);
#                         installs Node and npm when missing, for the interop tests,
#                         ZooKeeper and Redis, which the tests start on loopback, and
#                         the other tools the tests use (tmux, xmllint, Chromium, HAProxy)
set -euo pipefail
cd "$(dirname "$0")"

STATICCHECK_VERSION=v0.8.2 # staticcheck 2026.2.2

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

need_go() {
  command -v go >/dev/null 2>&1 || die "Go is not installed: install Go 1.26 or newer (https://go.dev/dl) and run again"
}

version() {
  git describe --tags --always --dirty 2>/dev/null || echo dev
}

build() {
  need_go
  local prefix=${PREFIX:-}
  if [ -z "$prefix" ]; then
    if [ "$(id -u)" = 0 ]; then prefix=/usr/local; else prefix="$HOME/.local"; fi
  fi
  mkdir -p "$prefix/bin"
  say "building pomeloctl $(version) into $prefix/bin"
  go build -trimpath -ldflags "-X main.version=$(version)" -o "$prefix/bin/pomeloctl" ./cmd/pomeloctl
  say "building the chat demo's game into examples/chat/chat"
  go build -trimpath -o examples/chat/chat ./examples/chat
  case ":$PATH:" in
    *":$prefix/bin:"*) ;;
    *) say "note: $prefix/bin is not on your PATH; add it, e.g. export PATH=\"$prefix/bin:\$PATH\"" ;;
  esac
}

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 || die "cannot install ${missing[*]}: no apt-get here; install them with your OS's package manager"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  say "installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

deps() {
  apt_install zookeeper redis-server
}

run_tests() {
  need_go
  # The interop tests run NetEase's own Pomelo clients (from npm) under Node.
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || apt_install nodejs npm
  # The HA tests run a real ZooKeeper (internal/zktest), never a fake one.
  [ -f /usr/share/java/zookeeper.jar ] || apt_install zookeeper
  # Global channels are tested against a real Redis (internal/redistest).
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  # The terminal UI's end-to-end test drives it in a tmux of its own.
  command -v tmux >/dev/null 2>&1 || apt_install tmux
  # pomeloctl smoke's JUnit XML is checked against a schema with xmllint.
  command -v xmllint >/dev/null 2>&1 || apt_install libxml2-utils
  # A rollout is tested behind a real load balancer checking readiness.
  command -v haproxy >/dev/null 2>&1 || apt_install haproxy
  # The chat demo's page is played in headless Chromium (TestChatPage).
  command -v chromium >/dev/null 2>&1 || apt_install chromium
  say "gofmt"
  local unformatted
  unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
  [ -z "$unformatted" ] || die "gofmt would change: $unformatted"
  say "go vet"
  go vet ./...
  say "staticcheck $STATICCHECK_VERSION"
  go run "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION" ./...
  say "go test (race detector on; fuzz targets run their seed corpora), beside a sentinel cluster on the default ports"
  # Tests touch only what they start: the sentinel, a cluster like a user's own,
  # must be untouched after them.
  bash .ci/sentinel.sh go test -race -count=1 ./...
  say "pomeloctl smoke examples/chat/topology.yaml --profile ci (what a game's CI runs before it deploys)"
  local out
  out=$(mktemp -d)
  go build -o "$out/pomeloctl" ./cmd/pomeloctl
  go build -o examples/chat/chat ./examples/chat
  bash .ci/sentinel.sh "$out/pomeloctl" smoke examples/chat/topology.yaml --profile ci --junit "$out/smoke-junit.xml"
  rm -rf "$out"
}

case "${1:-}" in
  "") build ;;
  --deps) deps; build ;;
  --test) run_tests ;;
  -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" ;;
  *) die "unknown option $1 (try --help)" ;;
esac
