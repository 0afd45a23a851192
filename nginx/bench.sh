#!/usr/bin/env bash
# A bounded load run on loopback (wrk): the demo configuration through
# nginx (nginx/demo/run.sh), then the demo server.
#   1. GET /static/hello.txt (unprotected) vs /protected/hello.txt (the same
#      file behind oauth2_bearer): the cost of the bearer check;
#   2. POST /token (client credentials) through nginx and through the demo
#      server (cargo run --release --example demo_server -- --memory), each
#      on CPU 0, wrk on CPU 1.
#   bash nginx/bench.sh [SECONDS per round, default 5] [CONNECTIONS per
#                       side, default 32] [ROUNDS, default 10]
# The method of 1: the two sides run at the same time, on the same CPU, so
# that whatever else the machine runs hits both alike.
#   - two nginx instances of the demo configuration, A and B, one worker
#     each, both pinned to CPU 0 (worker_cpu_affinity); two wrk (one
#     thread each) pinned to CPU 1 (taskset), started together: one loads
#     the static location of one instance, the other the protected
#     location of the other. Both workers are always busy, so the kernel
#     gives each half of CPU 0: the ratio of their requests/s is the ratio
#     of their costs per request, whatever the load around them;
#   - the same requests on both sides: every request carries an
#     "Authorization: Bearer" header with a token of its instance (the
#     static location ignores it), so only the location differs;
#   - rounds swap the instances (odd rounds A static and B protected, even
#     rounds the reverse), cancelling any difference between them; each
#     round's ratio and the median of the rounds' ratios are reported, with
#     the load average before and after.
# Each run also reads the CPU time each worker spent (/proc/PID/schedstat)
# and divides it by the requests it served. Needs 2 CPUs.
#   3. Instructions per request (user space, callgrind): one nginx process
#      (master_process off) under valgrind --tool=callgrind serves N (1000)
#      requests on one keep-alive connection to each location, with the same
#      header; the counters are zeroed before and dumped after each side
#      (callgrind_control). Deterministic: other load does not change it.
#      Skipped with CALLGRIND=0; needs valgrind. CALLGRIND_KEEP=DIR keeps the
#      two dumps as DIR/static.cg and DIR/protected.cg, for
#      callgrind_annotate --inclusive=yes --tree=calling DIR/protected.cg.
# Needs nginx, nginx-dev, wrk (apt-get install -y wrk), taskset.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
secs=${1:-5}
conns=${2:-32}
rounds=${3:-10}
command -v valgrind >/dev/null || [ "${CALLGRIND:-1}" = 0 ] || { echo "bench: valgrind is not installed (or CALLGRIND=0)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || { echo "bench: needs 2 CPUs (nginx on one, wrk on the other)" >&2; exit 1; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_http() { # URL
  for _ in $(seq 600); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.2
  done
  echo "bench: $1 does not answer" >&2; return 1
}
work=$(mktemp -d /tmp/oauth2-nginx-bench.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() { # a process already stopped must not end the loop (set -e)
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/token.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic Y29uZi1jbGllbnQ6Y29uZi1zZWNyZXQ="
LUA

rps() { # wrk args… → requests/s; fails on non-2xx answers
  local out
  out=$(taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" "$@")
  if grep -q 'Non-2xx' <<<"$out"; then echo "bench: non-2xx answers: $out" >&2; exit 1; fi
  awk '/^Requests\/sec/ {print $2}' <<<"$out"
}
worker_ns() { # PIDFILE → CPU time of that nginx's workers so far, in ns
  local total=0 w
  for w in $(pgrep -P "$(cat "$1")"); do
    total=$((total + $(cut -d' ' -f1 "/proc/$w/schedstat")))
  done
  echo "$total"
}
start_nginx() { # NAME: one worker on CPU 0; its URL in $base, a token in $work/NAME/token
  local port
  port=$(free_port)
  # every token issued stays until it expires (an hour): room for them all
  bash "$here/demo/run.sh" --addr "127.0.0.1:$port" --workers 1 --zone 512m --prefix "$work/$1" --write-only >/dev/null
  sed -i -e 's|access_log .*;|access_log off;|' -e 's/^worker_processes 1;/worker_processes 1;\nworker_cpu_affinity 01;/' "$work/$1/nginx.conf"
  grep -q '^worker_cpu_affinity 01;' "$work/$1/nginx.conf" || { echo "bench: no worker_cpu_affinity" >&2; exit 1; }
  nginx -p "$work/$1" -c "$work/$1/nginx.conf" >/dev/null 2>&1 &
  pids+=($!)
  wait_http "http://127.0.0.1:$port/static/hello.txt"
  curl -s -u conf-client:conf-secret -d grant_type=client_credentials "http://127.0.0.1:$port/token" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])' >"$work/$1/token"
  base=http://127.0.0.1:$port
}
# One round: wrk on A's LOCATION-A and B's LOCATION-B at once; prints
# "A-requests/s A-CPU-µs-per-request B-requests/s B-CPU-µs-per-request".
round() { # LOCATION-A LOCATION-B
  local a0 b0 a1 b1
  a0=$(worker_ns "$work/a/nginx.pid") b0=$(worker_ns "$work/b/nginx.pid")
  taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" -H "Authorization: Bearer $(cat "$work/a/token")" \
    "$base_a/$1/hello.txt" >"$work/wrk.a" &
  local wa=$!
  taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" -H "Authorization: Bearer $(cat "$work/b/token")" \
    "$base_b/$2/hello.txt" >"$work/wrk.b"
  wait "$wa"
  a1=$(worker_ns "$work/a/nginx.pid") b1=$(worker_ns "$work/b/nginx.pid")
  if grep -q 'Non-2xx' "$work/wrk.a" "$work/wrk.b"; then echo "bench: non-2xx answers" >&2; cat "$work/wrk.a" "$work/wrk.b" >&2; exit 1; fi
  awk -v a=$((a1 - a0)) -v b=$((b1 - b0)) '/^Requests\/sec/ {r[FILENAME] = $2} / requests in / {n[FILENAME] = $1}
    END {printf "%s %.3f %s %.3f\n", r[ARGV[1]], a / 1000 / n[ARGV[1]], r[ARGV[2]], b / 1000 / n[ARGV[2]]}' \
    "$work/wrk.a" "$work/wrk.b"
}

start_nginx a
base_a=$base
start_nginx b
base_b=$base
# warm up (worker caches, the tokens' records)
secs_run=$secs; secs=1
round static protected >/dev/null
round protected static >/dev/null
secs=$secs_run

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
static_runs=() protected_runs=()
for r in $(seq "$rounds"); do
  if [ $((r % 2)) = 1 ]; then
    read -r sa sc pa pc <<<"$(round static protected)"
  else
    read -r pa pc sa sc <<<"$(round protected static)"
  fi
  static_runs+=("$sa $sc") protected_runs+=("$pa $pc")
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
# instance B alone on CPU 0 now: A stops
kill -TERM "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
nginx_token=$(rps -s "$work/token.lua" "$base_b/token")

dport=$(free_port)
(cd "$root" && cargo build --release --quiet --example demo_server)
target=${CARGO_TARGET_DIR:-$root/target}
(cd "$work" && exec taskset -c 0 "$target/release/examples/demo_server" --addr "127.0.0.1:$dport" --memory >"$work/demo.log" 2>&1) &
pids+=($!)
wait_http "http://127.0.0.1:$dport/.well-known/oauth-authorization-server"
demo_token=$(rps -s "$work/token.lua" "http://127.0.0.1:$dport/token")

callgrind_line="(callgrind skipped)"
if [ "${CALLGRIND:-1}" != 0 ]; then
  kill -TERM "${pids[1]}"; wait "${pids[1]}" 2>/dev/null || true
  cport=$(free_port)
  bash "$here/demo/run.sh" --addr "127.0.0.1:$cport" --prefix "$work/cg" --write-only >/dev/null
  sed -i -e 's/^daemon off;/daemon off;\nmaster_process off;/' -e 's/^worker_processes .*;/worker_processes 1;/' \
    -e 's|access_log .*;|access_log off;|' -e 's/ reuseport;/;/' "$work/cg/nginx.conf"
  valgrind --tool=callgrind --callgrind-out-file="$work/cg/out" \
    nginx -p "$work/cg" -c "$work/cg/nginx.conf" >"$work/cg/valgrind.log" 2>&1 &
  cgpid=$!
  pids+=("$cgpid")
  cbase=http://127.0.0.1:$cport
  wait_http "$cbase/static/hello.txt"
  ctoken=$(curl -s -u conf-client:conf-secret -d grant_type=client_credentials "$cbase/token" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  cat >"$work/keepalive.py" <<'PY'
import http.client, sys
port, path, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
headers = {"Authorization": "Bearer " + sys.argv[4]} if len(sys.argv) > 4 else {}
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
for _ in range(n):
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    resp.read()
    if resp.status != 200:
        sys.exit(f"bench: {path} answered {resp.status}")
PY
  n=1000
  python3 "$work/keepalive.py" "$cport" /static/hello.txt 50 "$ctoken"
  python3 "$work/keepalive.py" "$cport" /protected/hello.txt 50 "$ctoken"
  callgrind_control -z "$cgpid" >/dev/null 2>&1
  python3 "$work/keepalive.py" "$cport" /static/hello.txt "$n" "$ctoken"
  callgrind_control -d static "$cgpid" >/dev/null 2>&1
  python3 "$work/keepalive.py" "$cport" /protected/hello.txt "$n" "$ctoken"
  callgrind_control -d protected "$cgpid" >/dev/null 2>&1
  ir() { awk '/^summary:/ {print $2}' "$(grep -l "^desc: Trigger: dump $1\$" "$work"/cg/out.*)"; }
  if [ -n "${CALLGRIND_KEEP:-}" ]; then
    mkdir -p "$CALLGRIND_KEEP"
    for side in static protected; do
      cp "$(grep -l "^desc: Trigger: dump $side\$" "$work"/cg/out.*)" "$CALLGRIND_KEEP/$side.cg"
    done
  fi
  callgrind_line=$(python3 -c 'import sys; s, p, n = map(int, sys.argv[1:]); print(
    f"instructions/request (user space, callgrind, {n} keep-alive requests each): static {s / n:.0f},"
    f" protected {p / n:.0f}: the check adds {(p - s) / n:.0f} ({100 * (p - s) / s:.1f}%)")' \
    "$(ir static)" "$(ir protected)" "$n")
fi

echo "$callgrind_line"
python3 - "$nginx_token" "$demo_token" "$secs" "$conns" "$load_before" "$load_after" \
  "$(printf '%s,' "${static_runs[@]}")" "$(printf '%s,' "${protected_runs[@]}")" <<'PY'
import statistics
import sys
ntok, dtok = map(float, sys.argv[1:3])
def runs(arg):
    return [tuple(map(float, r.split())) for r in arg.split(",") if r]
static_runs, protected_runs = runs(sys.argv[7]), runs(sys.argv[8])
costs = [100 * (1 - p[0] / s[0]) for s, p in zip(static_runs, protected_runs)]
cpu = [100 * (p[1] / s[1] - 1) for s, p in zip(static_runs, protected_runs)]
print(f"two wrk -t1 -c{sys.argv[4]} -d{sys.argv[3]}s at once on CPU 1, loopback, two nginx"
      f" (one worker each) sharing CPU 0, access_log off, the same Authorization header on"
      f" both sides,"
      f" {len(costs)} rounds swapping the instances; load average {sys.argv[5]} before, {sys.argv[6]} after")
for i, (s, p, c, u) in enumerate(zip(static_runs, protected_runs, costs, cpu), 1):
    print(f"round {i}: static {s[0]:7.0f} req/s {s[1]:6.2f} us CPU/req;"
          f"  protected {p[0]:7.0f} req/s {p[1]:6.2f} us CPU/req;"
          f"  throughput {-c:+.1f}%, CPU/req {u:+.1f}%")
med = statistics.median
print(f"static file, unprotected      {med(s[0] for s in static_runs):10.0f} req/s"
      f"  {med(s[1] for s in static_runs):6.2f} us worker CPU/req  (medians)")
print(f"static file, bearer-protected {med(p[0] for p in protected_runs):10.0f} req/s"
      f"  {med(p[1] for p in protected_runs):6.2f} us worker CPU/req  (medians)")
print(f"check costs: {med(costs):.1f}% of throughput ({min(costs):.1f}% to {max(costs):.1f}%),"
      f" {med(cpu):.1f}% of worker CPU per request ({min(cpu):.1f}% to {max(cpu):.1f}%);"
      f" medians of the rounds' ratios")
print(f"POST /token through nginx     {ntok:10.0f} req/s")
print(f"POST /token, demo server      {dtok:10.0f} req/s  (--memory)")
PY
