#!/usr/bin/env bash
# Tail latency of the demo server (examples/demo_server.rs) under a bounded
# load while its token store grows: examples/latency_load.rs sends
# client-credentials token requests over CONNECTIONS keep-alive connections
# at a constant RATE (requests a second, in all) for DURATION seconds, each request
# timed from when it was due (no coordinated omission, as wrk2 does it);
# every answered request stores a new access token, so the store grows by
# RATE tokens a second through several table resizes. Once over the
# in-memory validator (--memory), once over SQLite on a fresh file.
#
# Usage: benches/latency.sh
# Environment: RATE (default 5000), DURATION (seconds, default 30), CONNECTIONS
#   (default 8), STORES (default "memory sqlite"), OUT (work directory,
#   default target/latency). Prints a Markdown table, also written to
#   $OUT/latency.md. The generator shares the machine with the server; the
#   send lag column is how late requests left it (its own scheduling, or
#   the previous response on the same connection still awaited).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RATE=${RATE:-5000}
DURATION=${DURATION:-30}
CONNECTIONS=${CONNECTIONS:-8}
STORES=${STORES:-memory sqlite}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
OUT=${OUT:-$TARGET/latency}
mkdir -p "$OUT"

cargo build --release --quiet --example demo_server --example latency_load
DEMO=$TARGET/release/examples/demo_server
LOAD=$TARGET/release/examples/latency_load

SERVER_PID=""
cleanup() { [ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null || true; }
trap cleanup EXIT

TABLE=$OUT/latency.md
{
  echo "Demo server, client credentials at $RATE req/s for ${DURATION}s over $CONNECTIONS keep-alive connections (constant rate, timed from each request's due time); $(nproc) CPUs, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "| store | p50 ms | p99 ms | p99.9 ms | max ms | p99/p50 | tokens stored | rate achieved | failures | generator send lag p99 ms |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
} >"$TABLE"
for store in $STORES; do
  log=$OUT/demo_server-$store.log
  db=$OUT/demo_server.sqlite3
  rm -f "$db" "$db-wal" "$db-shm"
  case $store in
    memory) storage=(--memory) ;;
    sqlite) storage=(--db "$db") ;;
    *) echo "unknown store $store" >&2; exit 2 ;;
  esac
  : >"$log"
  "$DEMO" --addr 127.0.0.1:0 "${storage[@]}" >"$log" 2>/dev/null &
  SERVER_PID=$!
  url=""
  for _ in $(seq 1 100); do
    url=$(sed -n 's/^listening on //p' "$log" | head -1)
    [ -z "$url" ] || break
    sleep 0.1
  done
  [ -n "$url" ] || { echo "demo server ($store) did not start, see $log" >&2; exit 1; }
  addr=${url#http://}
  addr=${addr%%/*}
  line=$("$LOAD" --addr "$addr" --rate "$RATE" --seconds "$DURATION" --connections "$CONNECTIONS" || true)
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
  rm -f "$db" "$db-wal" "$db-shm"
  echo "$store: $line" >&2
  python3 - "$store" "$line" >>"$TABLE" <<'PY'
import sys
store, line = sys.argv[1], sys.argv[2]
kv = dict(p.split("=", 1) for p in line.split() if "=" in p)
if "p50_ms" not in kv:
    print(f"| {store} | failed: {line or 'no output'} | | | | | | | | |")
else:
    ratio = float(kv["p99_ms"]) / float(kv["p50_ms"])
    print(f"| {store} | {kv['p50_ms']} | {kv['p99_ms']} | {kv['p999_ms']} | {kv['max_ms']} | {ratio:.1f}x "
          f"| {kv['ok']} | {kv['rate']}/s | {kv['failures']} | {kv['send_lag_p99_ms']} |")
PY
done
cat "$TABLE"
