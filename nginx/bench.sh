#!/usr/bin/env bash
# A bounded load run on loopback (wrk): the demo configuration through
# nginx (nginx/demo/run.sh, two workers), then the demo server.
#   1. GET /static/hello.txt (unprotected) vs /protected/hello.txt (the same
#      file behind oauth2_bearer): the cost of the bearer check;
#   2. POST /token (client credentials) through nginx and through the demo
#      server (cargo run --release --example demo_server -- --memory).
#   bash nginx/bench.sh [SECONDS per run, default 10] [CONNECTIONS, default 32]
# The static/protected pair is run three times, alternated; the medians
# are reported.
# Needs nginx, nginx-dev, wrk (apt-get install -y wrk).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
secs=${1:-10}
conns=${2:-32}
command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }
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
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; done
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
  out=$(wrk -t2 -c"$conns" -d"${secs}s" "$@")
  if grep -q 'Non-2xx' <<<"$out"; then echo "bench: non-2xx answers: $out" >&2; exit 1; fi
  awk '/^Requests\/sec/ {print $2}' <<<"$out"
}

port=$(free_port)
# every token issued stays until it expires (an hour): room for them all
bash "$here/demo/run.sh" --addr "127.0.0.1:$port" --workers 2 --zone 512m --prefix "$work/nginx" --write-only >/dev/null
sed -i 's|access_log .*;|access_log off;|' "$work/nginx/nginx.conf"
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
pids+=($!)
base=http://127.0.0.1:$port
wait_http "$base/static/hello.txt"
token=$(curl -s -u conf-client:conf-secret -d grant_type=client_credentials "$base/token" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

# alternated, three rounds each, medians: the machine may be shared
static_runs=() protected_runs=()
for _ in 1 2 3; do
  static_runs+=("$(rps "$base/static/hello.txt")")
  protected_runs+=("$(rps -H "Authorization: Bearer $token" "$base/protected/hello.txt")")
done
median() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
static=$(median "${static_runs[@]}")
protected=$(median "${protected_runs[@]}")
nginx_token=$(rps -s "$work/token.lua" "$base/token")

dport=$(free_port)
(cd "$root" && cargo build --release --quiet --example demo_server)
target=${CARGO_TARGET_DIR:-$root/target}
(cd "$work" && exec "$target/release/examples/demo_server" --addr "127.0.0.1:$dport" --memory >"$work/demo.log" 2>&1) &
pids+=($!)
wait_http "http://127.0.0.1:$dport/.well-known/oauth-authorization-server"
demo_token=$(rps -s "$work/token.lua" "http://127.0.0.1:$dport/token")

python3 - "$static" "$protected" "$nginx_token" "$demo_token" "$secs" "$conns" <<'PY'
import sys
static, protected, ntok, dtok = map(float, sys.argv[1:5])
print(f"wrk -t2 -c{sys.argv[6]} -d{sys.argv[5]}s, loopback, nginx with 2 workers, access_log off")
print("(static/protected: medians of three alternated runs)")
print(f"static file, unprotected      {static:10.0f} req/s")
print(f"static file, bearer-protected {protected:10.0f} req/s  (check costs {100 * (1 - protected / static):.1f}%)")
print(f"POST /token through nginx     {ntok:10.0f} req/s")
print(f"POST /token, demo server      {dtok:10.0f} req/s  (--memory)")
PY
