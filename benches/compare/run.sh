#!/usr/bin/env bash
# Side-by-side benchmark of oauth2-provider against Python's oauthlib, in
# one run on one machine (issue 7):
#
#   1. five operations, median µs per operation, through
#        (a) this library's Rust API        benches/compare/main.rs
#        (b) this library's C ABI, from C   benches/compare/c_driver.c
#        (c) oauthlib (latest from PyPI) + a dict-based RequestValidator
#                                           benches/compare/oauthlib_bench.py
#        (d) this library's Rust API over the SQLite store
#            (oauth2-provider-sqlite)       benches/compare/main.rs --store sqlite
#            on a fresh file in the temporary directory ($TMPDIR or
#            /tmp: put it on the disk a server would use), WAL with
#            synchronous=NORMAL as every file that store opens: a commit
#            waits for no disk, so a process crash loses nothing
#            committed, a power loss the commits since the last
#            checkpoint's sync (never half of one); the file is deleted
#            after each pass;
#      operations: client-credentials token request (HTTP Basic),
#      authorization code + PKCE S256 exchange, refresh with rotation,
#      introspection of an active token, bearer resource check;
#   2. an HTTP figure: client-credentials token requests over loopback with
#      wrk against the demo server (examples/demo_server.rs), in memory
#      (--memory), over the SQLite store (--db, a fresh file), over the
#      PostgreSQL store (--postgres, a fresh cluster) as one server and as
#      three servers over one database (three wrk at once, summed), and
#      against a small oauthlib server with the same realm
#      (oauthlib_server.py).
#
# Usage: benches/compare/run.sh     (from anywhere; about a minute once built)
# Environment: ROUNDS, BATCH (micro-benchmarks, default 31 x 200),
#   PASSES (default 5: Rust, Rust + SQLite, C and oauthlib drivers in
#   turn, each pass a
#   sample, the table the median of the samples, and each ratio the median
#   of the passes' ratios),
#   HTTP_SECONDS (default 10), HTTP_CONNECTIONS (default 8),
#   OUT (work directory, default target/compare), CARGO_TARGET_DIR
#   (honoured), TMPDIR (where the SQLite column's file goes).
#
# Method, identical in the three drivers: for each operation, ROUNDS rounds
# of BATCH calls; a round's time / BATCH is one sample; the median sample is
# a driver's figure for one pass, and PASSES passes, the three drivers in
# turn, give the median reported. Inputs an operation consumes (an authorization code, a refresh
# token) are made before each round, untimed, through each side's own
# authorization endpoint / code exchange.
#
# Equivalence (what both sides do per operation):
# - the same realm: confidential client conf-client / conf-secret, scopes
#   read write, grants authorization_code, refresh_token,
#   client_credentials; user alice; access tokens 3600 s, codes 600 s;
# - client authentication by HTTP Basic, credentials form-decoded, the
#   secret compared in constant time over SHA-256 digests of both sides
#   (oauthlib side: hmac.compare_digest of hashlib.sha256 digests);
# - tokens of 43 base64url characters: 256 bits from a CSPRNG, base64url;
# - codes single-use with replay detection, PKCE S256 checked, expiry
#   checked on every lookup; refresh tokens rotated on every use, the
#   presented one marked spent, reuse revoking the grant; introspection
#   limited to allowed clients, the same claims; bearer check of token,
#   expiry and required scope.
# Where they cannot be equal:
# - oauthlib builds its own Request object and parses URI, headers and body
#   its own way; that is part of what is measured on its side;
# - the library itself compares secrets, checks PKCE, rotation and expiry;
#   on the oauthlib side the validator does the parts oauthlib leaves to it
#   (secret comparison, rotation bookkeeping, expiry);
# - the C column's validator is the C callback table of the C tests
#   (ffi/tests/c/memstore.c: hash tables in C), not the Rust
#   MemoryValidator: the C ABI has no built-in store, and a C host brings
#   its own;
# - the CSPRNG behind the tokens: the library makes one getrandom(2) call
#   per request for all its values (src/token.rs); oauthlib's side
#   secrets.token_urlsafe(32), i.e. os.urandom, one getrandom(2) per token
#   (about 0.4 µs here, under 1% of an oauthlib request);
# - the authorization codes used as set-up come from each side's own code
#   generator (oauthlib's are 30 characters), untimed;
# - HTTP: the demo server is a 16-thread blocking std::net server; the
#   oauthlib server is http.server's ThreadingHTTPServer (a thread per
#   connection). Both speak HTTP/1.1 keep-alive and log one line per
#   request (to /dev/null here); wrk runs the same script against both.
#
# Loopback only; every phase is bounded in time; servers started here are
# stopped here. The machine is shared: figures are noisy, the ratios of one
# run are what to read.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/benches/compare
OUT=${OUT:-$ROOT/target/compare}
ROUNDS=${ROUNDS:-31}
BATCH=${BATCH:-200}
PASSES=${PASSES:-5}
HTTP_SECONDS=${HTTP_SECONDS:-10}
HTTP_CONNECTIONS=${HTTP_CONNECTIONS:-8}
mkdir -p "$OUT"
MICRO=$OUT/micro.tsv
HTTP=$OUT/http.tsv
: >"$MICRO"
: >"$HTTP"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
say() { printf '\n==> %s\n' "$*" >&2; }
started=$(date +%s)

say "machine"
{
  echo "nproc: $(nproc)"
  lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core|Socket)' | sed 's/  */ /g'
  echo "kernel: $(uname -r)"
  echo "rustc: $(rustc --version)"
  echo "cc: $(cc --version | head -1)"
  echo "python: $(python3 --version 2>&1)"
} | tee "$OUT/machine.txt" >&2

say "build (release)"
cargo build --release --quiet --example demo_server
RUST_BENCH=$(cargo bench --quiet --bench compare --no-run --message-format=json |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "compare" and m.get("executable"):
        print(m["executable"])')
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
DEMO=$TARGET/release/examples/demo_server

# The C driver: only when the C ABI crate and its header exist.
C_DRIVER=""
C_MISSING=""
FFI_PKG=$(sed -n 's/^name = "\(.*\)"/\1/p' ffi/Cargo.toml 2>/dev/null | head -1 || true)
if [ -f include/oauth2_provider.h ] && [ -n "$FFI_PKG" ] && [ -f "$HERE/c_driver.c" ]; then
  if cargo build --release --quiet -p "$FFI_PKG" &&
    cc -std=c11 -O2 -Wall -Wextra -Wpedantic -Werror -I include -I ffi/tests/c \
      -o "$OUT/c_driver" "$HERE/c_driver.c" "$ROOT/ffi/tests/c/memstore.c" \
      "$TARGET/release/liboauth2_provider.a" -lpthread -ldl -lm; then
    C_DRIVER=$OUT/c_driver
  else
    C_MISSING="not available: the C ABI did not build"
  fi
else
  C_MISSING="not available: ffi not built"
fi

say "oauthlib (PyPI, in a venv)"
if [ ! -x "$OUT/venv/bin/python" ]; then
  python3 -m venv "$OUT/venv"
fi
"$OUT/venv/bin/python" -c 'import oauthlib' 2>/dev/null ||
  "$OUT/venv/bin/pip" install --quiet --disable-pip-version-check oauthlib
PY=$OUT/venv/bin/python
OAUTHLIB_VERSION=$("$PY" -c 'import oauthlib; print(oauthlib.__version__)')
echo "oauthlib $OAUTHLIB_VERSION" >&2

say "micro-benchmarks: $PASSES passes of Rust, Rust + SQLite, C, oauthlib in turn; $ROUNDS rounds x $BATCH calls per operation"
# The drivers take turns, so that a noisy neighbour's burst lands on each
# of them alike; each pass's median is a sample, the table the median of
# the samples.
for pass in $(seq 1 "$PASSES"); do
  echo "-- pass $pass" >&2
  "$RUST_BENCH" --rounds "$ROUNDS" --batch "$BATCH" | tee -a "$MICRO" >&2
  "$RUST_BENCH" --store sqlite --rounds "$ROUNDS" --batch "$BATCH" | tee -a "$MICRO" >&2
  if [ -n "$C_DRIVER" ]; then
    "$C_DRIVER" --rounds "$ROUNDS" --batch "$BATCH" | tee -a "$MICRO" >&2
  fi
  PYTHONPATH=$HERE "$PY" "$HERE/oauthlib_bench.py" --rounds "$ROUNDS" --batch "$BATCH" | tee -a "$MICRO" >&2
done

say "HTTP: client credentials, wrk ${HTTP_SECONDS}s x ${HTTP_CONNECTIONS} connections per server"
if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get install -y -qq wrk >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq wrk >/dev/null 2>&1; }) || true
  fi
fi

# Starts a server (its first line: "listening on URL") in the background.
start_server() {
  local log=$1
  shift
  : >"$log"
  "$@" >"$log" 2>/dev/null &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
}

# The URL a server started with start_server listens on, once it does.
server_url() {
  local log=$1 i
  for i in $(seq 1 100); do
    if grep -q '^listening on ' "$log" 2>/dev/null; then
      sed -n 's/^listening on //p' "$log" | head -1
      return 0
    fi
    sleep 0.1
  done
  echo "server did not start (see $log)" >&2
  return 1
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
}

# Runs wrk against URL/token for each URL given, all at once (one wrk per
# URL, each with HTTP_CONNECTIONS connections); appends
# "name<TAB>req/s<TAB>p50 ms<TAB>p99 ms": the requests/s summed, the
# latencies the worst of the wrk runs'.
load() {
  local name=$1 url i=0 status
  shift
  local outs=() pids=()
  for url in "$@"; do
    # One request first: each server must answer 200.
    status=$(curl -s -o /dev/null -w '%{http_code}' -u conf-client:conf-secret \
      -d grant_type=client_credentials -d scope=read "$url/token" || true)
    if [ "$status" != 200 ]; then
      printf '%s\tfailed: status %s\t-\t-\n' "$name" "$status" >>"$HTTP"
      return
    fi
  done
  for url in "$@"; do
    i=$((i + 1))
    outs+=("$OUT/wrk-$name-$i.txt")
    timeout $((HTTP_SECONDS + 20)) wrk -t1 -c"$HTTP_CONNECTIONS" -d"${HTTP_SECONDS}s" --latency \
      -s "$HERE/cc.lua" "$url/token" >"$OUT/wrk-$name-$i.txt" 2>&1 &
    pids+=($!)
  done
  wait "${pids[@]}" || true
  cat "${outs[@]}" >&2
  python3 - "$name" "${outs[@]}" >>"$HTTP" <<'EOF'
import re, sys
name, paths = sys.argv[1], sys.argv[2:]
unit = {"us": 0.001, "ms": 1.0, "s": 1000.0}
def percentile(text, p):
    m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$" % p, text, re.M)
    return float(m.group(1)) * unit[m.group(2)] if m else None
total, p50s, p99s = 0.0, [], []
for path in paths:
    text = open(path).read()
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if not rps:
        print(f"{name}\tfailed: no wrk result\t-\t-")
        sys.exit()
    if errors:
        print(f"{name}\tfailed: {errors.group(1)} non-2xx responses\t-\t-")
        sys.exit()
    total += float(rps.group(1))
    p50s.append(percentile(text, 50))
    p99s.append(percentile(text, 99))
fmt = lambda values: "-" if None in values else "%.3f" % max(values)
print(f"{name}\t{total:.0f}\t{fmt(p50s)}\t{fmt(p99s)}")
EOF
}

remove_db() {
  rm -f "$1" "$1-wal" "$1-shm" "$1-journal"
}

if command -v wrk >/dev/null 2>&1; then
  # The demo server twice: over the in-memory validator, and over the
  # SQLite store on a fresh file (removed afterwards).
  DEMO_DB=$OUT/demo_server.sqlite3
  for store in memory sqlite; do
    if [ "$store" = memory ]; then
      storage=(--memory)
    else
      remove_db "$DEMO_DB"
      storage=(--db "$DEMO_DB")
    fi
    start_server "$OUT/demo_server-$store.log" "$DEMO" --addr 127.0.0.1:0 "${storage[@]}"
    if url=$(server_url "$OUT/demo_server-$store.log"); then
      load "demo_server_$store" "$url"
    else
      printf 'demo_server_%s\tfailed: did not start\t-\t-\n' "$store" >>"$HTTP"
    fi
    stop_server
  done
  remove_db "$DEMO_DB"
  # The PostgreSQL store: one demo server, then three over one database
  # (each loaded by its own wrk at once), on a PostgreSQL 15 cluster of
  # this run's own (.ci/postgres.sh, Unix socket) with fsync on and
  # synchronous_commit=off: a commit waits for no disk, as with SQLite's
  # synchronous=NORMAL; a crash of the machine may lose the last commits
  # (never half of one), a crash of a server or of PostgreSQL nothing.
  PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/oap-bench-pg.XXXXXX")
  if PG_URL=$(PG_OPTIONS="-c synchronous_commit=off" bash "$ROOT/.ci/postgres.sh" start "$PG_DIR"); then
    for servers in 1 3; do
      urls=()
      pg_pids=()
      for n in $(seq 1 "$servers"); do
        start_server "$OUT/demo_server-postgres-$servers-$n.log" "$DEMO" --addr 127.0.0.1:0 \
          --postgres "$PG_URL"
        pg_pids+=("$SERVER_PID")
        if url=$(server_url "$OUT/demo_server-postgres-$servers-$n.log"); then
          urls+=("$url")
        fi
      done
      if [ "${#urls[@]}" = "$servers" ]; then
        load "demo_server_postgres_$servers" "${urls[@]}"
      else
        printf 'demo_server_postgres_%s\tfailed: did not start\t-\t-\n' "$servers" >>"$HTTP"
      fi
      for pid in "${pg_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
      done
    done
    bash "$ROOT/.ci/postgres.sh" stop "$PG_DIR" || true
  else
    printf 'demo_server_postgres_1\tfailed: no PostgreSQL\t-\t-\n' >>"$HTTP"
  fi
  rm -rf "$PG_DIR"
  start_server "$OUT/oauthlib_server.log" env PYTHONPATH="$HERE" "$PY" -u \
    "$HERE/oauthlib_server.py" --addr 127.0.0.1:0
  if url=$(server_url "$OUT/oauthlib_server.log"); then
    load oauthlib_server "$url"
  else
    printf 'oauthlib_server\tfailed: did not start\t-\t-\n' >>"$HTTP"
  fi
  stop_server
else
  printf 'demo_server_memory\tnot available: wrk missing\t-\t-\noauthlib_server\tnot available: wrk missing\t-\t-\n' >>"$HTTP"
fi

elapsed=$(($(date +%s) - started))
say "results (${elapsed}s)"
python3 - "$MICRO" "$HTTP" "$OUT/machine.txt" "$C_MISSING" "$OAUTHLIB_VERSION" "$ROUNDS" "$BATCH" \
  "$HTTP_SECONDS" "$HTTP_CONNECTIONS" <<'EOF' | tee "$OUT/results.md"
import statistics
import sys
micro, http, machine, c_missing, oauthlib_version, rounds, batch, secs, conns = sys.argv[1:]
ops = [
    ("client_credentials", "client credentials token request (HTTP Basic)"),
    ("auth_code_pkce", "authorization code + PKCE S256 exchange"),
    ("refresh_rotation", "refresh with rotation"),
    ("introspection", "introspection (active token)"),
    ("bearer_check", "bearer resource check"),
]
samples = {}
for line in open(micro):
    side, op, us = line.rstrip("\n").split("\t")
    samples.setdefault((side, op), []).append(float(us))
data = {key: statistics.median(values) for key, values in samples.items()}
# A ratio is the median of the passes' ratios: each pass's drivers ran back
# to back, so a neighbour's burst lands on both sides of a pass's ratio far
# more often than on both medians of a column.
def paired(num, den, key):
    pairs = zip(samples.get((num, key), []), samples.get((den, key), []))
    ratios = [a / b for a, b in pairs if b]
    return statistics.median(ratios) if ratios else None
passes = max((len(v) for v in samples.values()), default=0)
lines = dict(l.split(": ", 1) for l in open(machine).read().splitlines() if ": " in l)
model = lines.get("Model name", "?").strip()
print(f"Machine: {lines.get('nproc', '?')} cores ({model}), Linux {lines.get('kernel', '?')}, "
      f"shared with other work: figures are noisy, read the ratios of one run.")
print(f"oauthlib {oauthlib_version} on {lines.get('python', '?')}; {lines.get('rustc', '?')}.")
print()
print(f"Median µs per operation ({rounds} rounds x {batch} calls; the median of {passes} "
      f"passes, the drivers taking turns; a ratio is the median of the {passes} passes' "
      f"ratios); in-memory validators, and the Rust API over the SQLite store (a file, WAL, "
      f"synchronous=NORMAL):")
print()
print("| operation | Rust API | Rust API, SQLite | C ABI | oauthlib "
      "| oauthlib / Rust | oauthlib / SQLite | C / Rust |")
print("|---|--:|--:|--:|--:|--:|--:|--:|")
def fmt(v):
    return f"{v:.2f}" if v >= 1 else f"{v:.3f}"
for key, label in ops:
    rust = data.get(("rust", key))
    sqlite = data.get(("rust-sqlite", key))
    c = data.get(("c", key))
    py = data.get(("oauthlib", key))
    py_ratio = paired("oauthlib", "rust", key)
    sqlite_ratio = paired("oauthlib", "rust-sqlite", key)
    c_ratio = paired("c", "rust", key)
    cells = [
        fmt(rust) if rust else "n/a",
        fmt(sqlite) if sqlite else "n/a",
        fmt(c) if c else (c_missing or "n/a"),
        fmt(py) if py else "n/a",
        f"{py_ratio:.0f}x" if py_ratio else "n/a",
        f"{sqlite_ratio:.1f}x" if sqlite_ratio else "n/a",
        f"{c_ratio:.2f}x" if c_ratio else "n/a",
    ]
    print(f"| {label} | " + " | ".join(cells) + " |")
print()
print(f"HTTP, client credentials over loopback (wrk -t1 -c{conns} -d{secs}s --latency, keep-alive):")
print()
print("| server | requests/s | latency p50 (ms) | latency p99 (ms) |")
print("|---|--:|--:|--:|")
rows = {}
for line in open(http):
    name, rps, p50, p99 = line.rstrip("\n").split("\t")
    rows[name] = (rps, p50, p99)
    label = {"demo_server_memory": "demo server (this library, std::net, 16 threads), in memory",
             "demo_server_sqlite": "demo server, SQLite store (a file, WAL, synchronous=NORMAL)",
             "demo_server_postgres_1": "demo server, PostgreSQL store (synchronous_commit=off)",
             "demo_server_postgres_3": "three demo servers over one PostgreSQL (a wrk each, summed)",
             "oauthlib_server": "oauthlib + http.server (ThreadingHTTPServer)"}.get(name, name)
    print(f"| {label} | {rps} | {p50} | {p99} |")
print()
for name, label in [("demo_server_memory", "in memory"), ("demo_server_sqlite", "SQLite"),
                    ("demo_server_postgres_1", "PostgreSQL"),
                    ("demo_server_postgres_3", "three over PostgreSQL")]:
    try:
        ratio = float(rows[name][0]) / float(rows["oauthlib_server"][0])
        print(f"Throughput ratio demo server ({label}) / oauthlib server: {ratio:.1f}x")
    except (KeyError, ValueError, ZeroDivisionError):
        pass
EOF
