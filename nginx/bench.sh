#!/usr/bin/env bash
# A bounded load run on loopback (wrk): the demo configuration through
# nginx (nginx/demo/run.sh), then the demo server.
#   1. GET /static/hello.txt (unprotected) vs /protected/hello.txt (the same
#      file behind oauth2_bearer): the cost of the bearer check;
#   2. POST /token (client credentials) through nginx and through the demo
#      server (cargo run --release --example demo_server -- --memory), each
#      on CPU 0, wrk on CPU 1.
#   bash nginx/bench.sh [SECONDS per run, default 5] [CONNECTIONS, default 32]
#                       [ROUNDS, default 9]
# The method of 1, chosen so that the ratio measures the check and not the
# machine:
#   - the same requests on both sides: every request carries the same
#     "Authorization: Bearer" header (the static location ignores it), so
#     only the location differs, not the bytes nginx reads and parses;
#   - one nginx worker pinned to CPU 0 (worker_cpu_affinity) and wrk (one
#     thread) pinned to CPU 1 (taskset): the worker, not the scheduler's
#     placement of wrk beside it, is what limits the requests/s;
#   - rounds taken in turns (odd rounds static first, even rounds protected
#     first), so that the noise of a shared machine hits both sides alike:
#     each round's ratio, the median per side and the median of the rounds'
#     ratios are reported, with the load average before and after.
# Each run also reads the CPU time the nginx worker spent
# (/proc/PID/schedstat, nanoseconds on a CPU) and divides it by the requests
# served: CPU per request is far less sensitive than requests/s to other
# work competing for the cores. Needs 2 CPUs.
#   3. Instructions per request (user space, callgrind): one nginx process
#      (master_process off) under valgrind --tool=callgrind serves N (1000)
#      requests on one keep-alive connection to each location, with the same
#      header; the counters are zeroed before and dumped after each side
#      (callgrind_control). Deterministic: other load does not change it.
#      Skipped with CALLGRIND=0; needs valgrind.
# Needs nginx, nginx-dev, wrk (apt-get install -y wrk), taskset.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
secs=${1:-5}
conns=${2:-32}
rounds=${3:-9}
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
worker_ns() { # CPU time of nginx's workers so far, in nanoseconds
  local total=0 w
  for w in $(pgrep -P "$(cat "$work/nginx/nginx.pid")"); do
    total=$((total + $(cut -d' ' -f1 "/proc/$w/schedstat")))
  done
  echo "$total"
}
side() { # wrk args… → "requests/s workers'-CPU-µs-per-request"
  local before out after
  before=$(worker_ns)
  out=$(taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" -H "Authorization: Bearer $token" "$@")
  after=$(worker_ns)
  if grep -q 'Non-2xx' <<<"$out"; then echo "bench: non-2xx answers: $out" >&2; exit 1; fi
  awk -v ns=$((after - before)) '/^Requests\/sec/ {r = $2} / requests in / {n = $1}
    END {printf "%s %.3f\n", r, ns / 1000 / n}' <<<"$out"
}

port=$(free_port)
# every token issued stays until it expires (an hour): room for them all
bash "$here/demo/run.sh" --addr "127.0.0.1:$port" --workers 1 --zone 512m --prefix "$work/nginx" --write-only >/dev/null
sed -i -e 's|access_log .*;|access_log off;|' -e 's/^worker_processes 1;/worker_processes 1;\nworker_cpu_affinity 01;/' "$work/nginx/nginx.conf"
grep -q '^worker_cpu_affinity 01;' "$work/nginx/nginx.conf" || { echo "bench: no worker_cpu_affinity" >&2; exit 1; }
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
pids+=($!)
base=http://127.0.0.1:$port
wait_http "$base/static/hello.txt"
token=$(curl -s -u conf-client:conf-secret -d grant_type=client_credentials "$base/token" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

# warm up both sides (worker caches, the token's record)
side "$base/static/hello.txt" >/dev/null
side "$base/protected/hello.txt" >/dev/null

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
static_runs=() protected_runs=()
for round in $(seq "$rounds"); do
  if [ $((round % 2)) = 1 ]; then
    s=$(side "$base/static/hello.txt")
    p=$(side "$base/protected/hello.txt")
  else
    p=$(side "$base/protected/hello.txt")
    s=$(side "$base/static/hello.txt")
  fi
  static_runs+=("$s") protected_runs+=("$p")
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
nginx_token=$(rps -s "$work/token.lua" "$base/token")

dport=$(free_port)
(cd "$root" && cargo build --release --quiet --example demo_server)
target=${CARGO_TARGET_DIR:-$root/target}
(cd "$work" && exec taskset -c 0 "$target/release/examples/demo_server" --addr "127.0.0.1:$dport" --memory >"$work/demo.log" 2>&1) &
pids+=($!)
wait_http "http://127.0.0.1:$dport/.well-known/oauth-authorization-server"
demo_token=$(rps -s "$work/token.lua" "http://127.0.0.1:$dport/token")

callgrind_line="(callgrind skipped)"
if [ "${CALLGRIND:-1}" != 0 ]; then
  kill -TERM "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
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
print(f"wrk -t1 -c{sys.argv[4]} -d{sys.argv[3]}s on CPU 1, loopback, one nginx worker on CPU 0,"
      f" access_log off, the same Authorization header on both sides,"
      f" {len(costs)} alternated rounds; load average {sys.argv[5]} before, {sys.argv[6]} after")
for i, (s, p, c, u) in enumerate(zip(static_runs, protected_runs, costs, cpu), 1):
    print(f"round {i}: static {s[0]:7.0f} req/s {s[1]:6.2f} us CPU/req;"
          f"  protected {p[0]:7.0f} req/s {p[1]:6.2f} us CPU/req;"
          f"  throughput -{c:.1f}%, CPU/req +{u:.1f}%")
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
