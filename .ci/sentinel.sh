#!/usr/bin/env bash
# .ci/sentinel.sh COMMAND...  runs COMMAND (the test suite) beside a sentinel
# cluster: the chat demo on its default ports (master 127.0.0.1:3005, user
# admin/admin), as a developer's own cluster runs while they test. Tests touch
# only what they start, so afterwards the sentinel must be as it was: the same
# processes running, and no admin command (or refused server) in its master's
# log. Exits with COMMAND's status, or 1 if the sentinel was touched.
#
# When a default port is taken already (a cluster of your own?), the sentinel
# is skipped and COMMAND runs alone. Needs Go; builds pomeloctl into a
# temporary folder (with the sentinel's run directory) and the chat game into
# examples/chat/chat, as install.sh does.
set -euo pipefail
cd "$(dirname "$0")/.."

topology=examples/chat/topology.yaml
say() { printf '==> sentinel: %s\n' "$*" >&2; }

[ $# -gt 0 ] || { echo "usage: $0 COMMAND..." >&2; exit 2; }
tmp=$(mktemp -d)
run=$tmp/run
ctl() { "$tmp/pomeloctl" "$@" -t "$topology" --run-dir "$run"; }

stop_sentinel() {
  if [ -f "$run/master.json" ]; then
    ctl down >&2 || say "could not stop it: run $tmp/pomeloctl down -t $topology --run-dir $run"
  fi
  rm -rf "$tmp"
}
trap stop_sentinel EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# listening prints every TCP port something listens on, on any address.
listening() {
  local _ addr st
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | while read -r _ addr _ st _; do
    if [ "$st" = 0A ]; then echo $((16#${addr##*:})); fi
  done
}

# servers prints "ID STATE PID STARTED", a line for each server, as the
# sentinel's master lists them.
servers() {
  ctl ls -o json | awk -F'"' '
    /"id":/ { id = $4 } /"state":/ { st = $4 } /"started":/ { since = $4 }
    /"pid":/ { pid = $3; gsub(/[^0-9]/, "", pid) }
    /^  }/ { print id, st, pid, since; id = st = pid = since = "" }'
}

go build -o "$tmp/pomeloctl" ./cmd/pomeloctl
ports=$("$tmp/pomeloctl" validate "$topology" --print 2>/dev/null |
  awk 'NR > 1 { if ($4 != "-") print $4; if ($5 != "-") { sub(/.*:/, "", $5); print $5 } }')
# and the web page's port (its web: section), which --print does not list
ports+=$'\n'$(sed -n 's/^web:.*port: *\([0-9]*\).*/\1/p' "$topology")
[ -n "$ports" ] || { say "no ports in $topology"; exit 1; }
taken=$(listening | sort -un | grep -Fxf <(echo "$ports") | paste -sd ' ' || true)
if [ -n "$taken" ]; then
  say "skipped: something listens on $taken already (a cluster of your own?); the tests run on ports of their own"
  "$@"
  exit
fi

go build -o examples/chat/chat ./examples/chat
say "starting the chat demo on its default ports (run directory $run)"
if ! "$tmp/pomeloctl" up "$topology" -d --run-dir "$run" --timeout 60s >/dev/null; then
  say "did not start (see above); the tests run without it, and fail the run"
  "$@" || true
  exit 1
fi
before=$(servers)
master=$(grep -o '"pid": *[0-9]*' "$run/master.json" | grep -o '[0-9]*$')
log=$run/logs/master.log
offset=$(wc -c <"$log")
say "running: master pid $master on 127.0.0.1:3005, servers:"
sed 's/^/      /' <<<"$before" >&2

status=0
"$@" || status=$?

touched=()
lines=$(tail -c +"$((offset + 1))" "$log" | grep -E 'admin command|refused a server' || true)
[ -z "$lines" ] || touched+=("its master's log has lines from the tests:
$lines")
after=$(servers 2>&1) || true
[ "$after" = "$before" ] || touched+=("its servers changed, from:
$before
to:
$after")
for pid in $master $(awk '{ print $3 }' <<<"$before"); do
  kill -0 "$pid" 2>/dev/null || touched+=("process $pid is gone")
done
if [ ${#touched[@]} -gt 0 ]; then
  say "TOUCHED by the tests:"
  printf '  %s\n' "${touched[@]}" >&2
  say "the end of its master's log since the tests began ($log):"
  tail -c +"$((offset + 1))" "$log" | tail -n 20 >&2
  exit 1
fi
say "untouched: master pid $master and the same $(wc -l <<<"$before") server processes, no admin command in its log"
exit "$status"
