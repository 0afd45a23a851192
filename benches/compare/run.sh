#!/usr/bin/env bash
# Side-by-side benchmark of oauth2-provider against the peers a user would
# pick, in one run on one machine (issues 7 and 18):
#
#   1. micro-benchmarks: five operations through long-lived workers, one
#      per contender, each timing its own batches:
#        rust      this library's Rust API, MemoryValidator  main.rs
#        c         this library's C ABI, from C               c_driver.c
#                  (store: c_store.c, see below)
#        sqlite    the Rust API over oauth2-provider-sqlite   main.rs --store sqlite
#                  (a fresh file in $TMPDIR or /tmp, WAL, synchronous=NORMAL:
#                  a commit waits for no disk; deleted afterwards)
#        oxide     oxide-auth (latest 0.6 from crates.io)     ../peers/oxide/
#        authlib   Authlib (latest from PyPI)                  authlib_worker.py
#        oauthlib  oauthlib (latest from PyPI)                 oauthlib_bench.py
#      operations: client-credentials token request (HTTP Basic),
#      authorization code + PKCE S256 exchange with a percent-encoded
#      redirect_uri, refresh with rotation, introspection of an active
#      token, bearer resource check;
#   2. an HTTP figure: client-credentials token requests over loopback with
#      wrk against the demo server (examples/demo_server.rs), in memory
#      (--memory), over the SQLite store (--db, a fresh file), over the
#      PostgreSQL store (--postgres, a fresh cluster) as one server and as
#      three servers over one database (three wrk at once, summed), and
#      against a small oauthlib server with the same realm
#      (oauthlib_server.py).
#
# Usage: benches/compare/run.sh     (from anywhere; a few minutes once built)
# Environment: ROUNDS (default 41), LIVE (live tokens in each store before
#   timing, default 40000), BATCH_NATIVE (calls per batch for rust, c and
#   oxide, default 2000), BATCH_SLOW (sqlite, authlib, oauthlib, default
#   100), HTTP_SECONDS (default 10), HTTP_CONNECTIONS (default 8),
#   SKIP_HTTP=1 (micro-benchmarks only, no benches/latency.sh either), CONTENDERS (those to run, comma-
#   separated, rust first: the ratios and floors divide by it; default
#   rust,c,oxide,sqlite,authlib,oauthlib; e.g. CONTENDERS=rust,c
#   SKIP_HTTP=1 for C ABI / Rust API alone), OUT (work directory, default
#   target/compare), CARGO_TARGET_DIR (honoured), TMPDIR (the SQLite file).
#
# Method (coordinator.py): every worker starts once and lives for the whole
# run. It builds the realm, issues LIVE access tokens through its own
# client-credentials grant, then proves the equivalence answers below (or
# the run fails), and waits. ROUNDS rounds follow; each round shuffles the
# contenders' order and asks each worker for one batch per operation over
# a pipe; the worker makes the batch's inputs untimed (codes and refresh
# tokens through its own authorization endpoint / exchange; bearer tokens
# and introspected tokens taken in turn from its LIVE tokens in a
# scattered order, never one hot token), times the batch with its own
# monotonic clock and answers ns per call. All workers are pinned to one
# core (sched_setaffinity; the report says when the machine refused). A
# figure is the median of the rounds; a ratio is computed within each
# round, then reported as the median and the min-max over the rounds. The
# Rust worker also times each operation's physical floor every round
# (main.rs `floor`: the parse, the Basic decode, one SHA-256 per hashed
# value, the request's getrandom, base64url, inserts/lookups in a std
# HashMap of the store's size, the JSON, each done alone) and counts heap
# allocations per call once after the rounds (a counting global
# allocator, off while timing).
#
# Equivalence, checked before timing in every worker: a wrong client secret
# gives 401 invalid_client; a wrong PKCE verifier gives 400 invalid_grant
# (oxide-auth: 400 invalid_request, its answer, accepted and stated); an
# unknown token is refused by the bearer check and introspects
# {"active":false}; a live token passes both.
# The same realm everywhere: confidential client conf-client / conf-secret,
# scopes read write, redirect https://client.example.com/cb; user alice;
# access tokens 3600 s; codes single-use, PKCE S256 required; refresh
# rotated on every use, the presented token spent; the secret compared in
# constant time over SHA-256 digests of both sides.
# Where the work is not identical:
# - oauthlib and Authlib build their own request objects and parse URI,
#   headers and body their own way (measured on their side); Authlib's
#   request is built as its integrations build theirs (parse_qsl of query
#   and body), and its tokens come from secrets.token_urlsafe(32) (a
#   registered generator; its default draws 42 characters one by one);
# - oxide-auth: its Argon2 secret check (milliseconds) is swapped for a
#   SHA-256 PasswordPolicy; its synchronous `simple` frontend takes the
#   form as a HashMap<String, String>, parsed inside the timed call; its
#   tokens are 32 random bytes in standard base64; it has no introspection
#   endpoint (n/a); its RandomGenerator draws from OsRng, one getrandom(2)
#   call per token (two for a request issuing a refresh token too);
# - the C column's validator is c_store.c, laid out like MemoryValidator
#   (open addressing, a code's or token's key inline in its slot, the
#   record in the slot, its strings in one block), not the C tests'
#   ffi/tests/c/memstore.c (keys and records behind pointers, call
#   counters); what stays different is the ABI's: the C store keeps the
#   library's record of each access token (oap_ctx_issued_access_token,
#   one allocation the library makes) behind a pointer where
#   MemoryValidator keeps the TokenInfo in its slot, and its hash seed is
#   fixed where MemoryValidator's is random per map;
# - this library makes one getrandom(2) call per request for all its
#   values (src/token.rs); the Python peers one os.urandom per token;
# - the physical floor is a sum of parts timed alone with std's HashMap,
#   not a bound any implementation reaches.
# - HTTP: the demo server is a 16-thread blocking std::net server; the
#   oauthlib server is http.server's ThreadingHTTPServer (a thread per
#   connection). Both speak HTTP/1.1 keep-alive and log one line per
#   request (to /dev/null here); wrk runs the same script against both.
#
# Loopback only; every phase is bounded in time; processes started here are
# stopped here. The machine is shared: figures are noisy; read the ratios.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/benches/compare
OUT=${OUT:-$ROOT/target/compare}
ROUNDS=${ROUNDS:-41}
LIVE=${LIVE:-40000}
BATCH_NATIVE=${BATCH_NATIVE:-2000}
BATCH_SLOW=${BATCH_SLOW:-100}
HTTP_SECONDS=${HTTP_SECONDS:-10}
HTTP_CONNECTIONS=${HTTP_CONNECTIONS:-8}
CONTENDERS=${CONTENDERS:-rust,c,oxide,sqlite,authlib,oauthlib}
case ",$CONTENDERS," in
  ,rust,*) ;;
  *) echo "run.sh: CONTENDERS must start with rust (the reference), not '$CONTENDERS'" >&2; exit 2 ;;
esac
for name in ${CONTENDERS//,/ }; do
  case $name in
    rust | c | oxide | sqlite | authlib | oauthlib) ;;
    *) echo "run.sh: unknown contender '$name' in CONTENDERS" >&2; exit 2 ;;
  esac
done
# Whether CONTENDERS names $1.
wanted() { case ",$CONTENDERS," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
mkdir -p "$OUT"
MICRO=$OUT/micro.json
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
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/machine.txt" >&2

say "build (release)"
if [ "${SKIP_HTTP:-0}" != 1 ]; then
  cargo build --release --quiet --example demo_server
fi
RUST_BENCH=$(bash "$ROOT/benches/compare/rust_driver.sh")
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
DEMO=$TARGET/release/examples/demo_server

# The C driver: only when the C ABI crate and its header exist.
C_DRIVER=""
C_MISSING=""
FFI_PKG=$(sed -n 's/^name = "\(.*\)"/\1/p' ffi/Cargo.toml 2>/dev/null | head -1 || true)
if ! wanted c; then
  C_MISSING="not run (CONTENDERS)"
elif [ -f include/oauth2_provider.h ] && [ -n "$FFI_PKG" ] && [ -f "$HERE/c_driver.c" ]; then
  if cargo build --release --quiet -p "$FFI_PKG" &&
    cc -std=c11 -O2 -Wall -Wextra -Wpedantic -Werror -I include -I "$HERE" \
      -o "$OUT/c_driver" "$HERE/c_driver.c" "$HERE/c_store.c" \
      "$TARGET/release/liboauth2_provider.a" -lpthread -ldl -lm; then
    C_DRIVER=$OUT/c_driver
  else
    C_MISSING="not available: the C ABI did not build"
  fi
else
  C_MISSING="not available: ffi not built"
fi

OAUTHLIB_VERSION="not run"
AUTHLIB_VERSION="not run"
PY=""
if wanted authlib || wanted oauthlib || [ "${SKIP_HTTP:-0}" != 1 ]; then
  say "oauthlib and Authlib (PyPI, in a venv)"
  if [ ! -x "$OUT/venv/bin/python" ]; then
    python3 -m venv "$OUT/venv"
  fi
  "$OUT/venv/bin/python" -c 'import oauthlib, authlib' 2>/dev/null ||
    "$OUT/venv/bin/pip" install --quiet --disable-pip-version-check oauthlib authlib
  PY=$OUT/venv/bin/python
  OAUTHLIB_VERSION=$("$PY" -c 'import oauthlib; print(oauthlib.__version__)')
  AUTHLIB_VERSION=$("$PY" -c 'import authlib; print(authlib.__version__)')
  echo "oauthlib $OAUTHLIB_VERSION, Authlib $AUTHLIB_VERSION" >&2
fi

OXIDE=""
OXIDE_VERSION="not run"
if wanted oxide; then
  say "oxide-auth (crates.io, its own cargo workspace)"
  OXIDE_VERSION="not built"
fi
if wanted oxide && (cd "$ROOT/benches/peers/oxide" && cargo build --release --quiet --target-dir "$TARGET"); then
  OXIDE=$TARGET/release/oxide-worker
  OXIDE_VERSION=$(sed -n '/^name = "oxide-auth"$/{n;s/^version = "\(.*\)"/\1/p}' \
    "$ROOT/benches/peers/oxide/Cargo.lock")
fi
wanted oxide && echo "oxide-auth $OXIDE_VERSION" >&2

say "micro-benchmarks: $ROUNDS shuffled rounds, $LIVE live tokens per store"
contenders=(--contender rust "$BATCH_NATIVE" "$RUST_BENCH --live $LIVE")
if [ -n "$C_DRIVER" ]; then
  contenders+=(--contender c "$BATCH_NATIVE" "$C_DRIVER --live $LIVE")
fi
if [ -n "$OXIDE" ]; then
  contenders+=(--contender oxide "$BATCH_NATIVE" "$OXIDE --live $LIVE")
fi
if wanted sqlite; then
  contenders+=(--contender sqlite "$BATCH_SLOW" "$RUST_BENCH --store sqlite --live $LIVE")
fi
if wanted authlib; then
  contenders+=(--contender authlib "$BATCH_SLOW"
    "env PYTHONPATH=$HERE $PY $HERE/authlib_worker.py --live $LIVE")
fi
if wanted oauthlib; then
  contenders+=(--contender oauthlib "$BATCH_SLOW"
    "env PYTHONPATH=$HERE $PY $HERE/oauthlib_bench.py --live $LIVE")
fi
python3 "$HERE/coordinator.py" --rounds "$ROUNDS" --out "$OUT" "${contenders[@]}" >"$MICRO"

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

if [ "${SKIP_HTTP:-0}" = 1 ]; then
  printf 'demo_server_memory\tskipped (SKIP_HTTP=1)\t-\t-\n' >>"$HTTP"
elif command -v wrk >/dev/null 2>&1; then
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

# Tail latency at a constant rate while the store grows (benches/latency.sh,
# its own load generator: wrk's closed loop hides stalls).
if [ "${SKIP_HTTP:-0}" != 1 ]; then
  say "HTTP: tail latency at a constant rate (benches/latency.sh)"
  OUT=$OUT/latency "$ROOT/benches/latency.sh" >/dev/null || echo "latency.sh failed" >&2
fi

elapsed=$(($(date +%s) - started))
say "results (${elapsed}s)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"
python3 - "$MICRO" "$HTTP" "$OUT/machine.txt" "$C_MISSING" "$OAUTHLIB_VERSION" "$AUTHLIB_VERSION" \
  "$OXIDE_VERSION" "$LIVE" "$HTTP_SECONDS" "$HTTP_CONNECTIONS" <<'EOF' | tee "$OUT/results.md"
import json
import statistics
import sys
(micro, http, machine, c_missing, oauthlib_version, authlib_version, oxide_version, live,
 secs, conns) = sys.argv[1:]
m = json.load(open(micro))
ops = [
    ("client_credentials", "client credentials (HTTP Basic)"),
    ("auth_code_pkce", "code + PKCE S256 exchange, redirect_uri"),
    ("refresh_rotation", "refresh with rotation"),
    ("introspection", "introspection (active token)"),
    ("bearer_check", "bearer check"),
    ("device_poll", "device grant poll, pending (RFC 8628)"),
    ("par_push", "pushed authorization request (RFC 9126)"),
]
names = [n for n, _ in m["contenders"]]
batch = dict(m["contenders"])
samples = {tuple(k.split("\t")): v for k, v in m["samples"].items()}
def median(name, op):
    v = [x for x in samples.get((name, op), []) if x is not None]
    return statistics.median(v) / 1000 if v else None
def ratios(num, den, op):
    pairs = zip(samples.get((num, op), []), samples.get((den, op), []))
    return [a / b for a, b in pairs if a is not None and b]
def floor_ratios(op):
    return [a / b for a, b in zip(samples.get(("rust", op), []), m["floors"].get(op, [])) if a and b]
def summary(values, digits):
    if not values:
        return "n/a"
    f = "%%.%df" % digits
    return (f + "x (" + f + "–" + f + ")") % (statistics.median(values), min(values), max(values))
def fmt(v):
    return "n/a" if v is None else (f"{v:.2f}" if v >= 1 else f"{v:.3f}")
lines = dict(l.split(": ", 1) for l in open(machine).read().splitlines() if ": " in l)
model = lines.get("Model name", "?").strip()
print(f"Machine: {lines.get('nproc', '?')} cores ({model}), Linux {lines.get('kernel', '?')}; "
      f"{lines.get('rustc', '?')}; {lines.get('python', '?')}.")
peer_names = [f"oxide-auth {oxide_version} (crates.io)" if "oxide" in names else None,
              f"Authlib {authlib_version} (PyPI)" if "authlib" in names else None,
              f"oauthlib {oauthlib_version} (PyPI)" if "oauthlib" in names else None]
print("Peers: " + (", ".join(p for p in peer_names if p) or "none run (CONTENDERS)") + ".")
load = m["load"]
print(f"Load average (1 min) during the micro-benchmarks: {load['min']:.2f}–{load['max']:.2f} "
      f"(median {load['median']:.2f}); before the run {lines.get('load before', '?')}, "
      f"after it {lines.get('load after', '?')}.")
pin = (f"all workers pinned to CPU {m['cpu']}" if m["pinned"]
       else "workers NOT pinned (the machine refused sched_setaffinity)")
print(f"{m['rounds']} rounds, contenders shuffled every round; {pin}; {live} live tokens in "
      f"every store before timing; batches of " +
      ", ".join(f"{n} {batch[n]}" for n in names) + " calls.")
print()
print("Median µs per operation over the rounds:")
print()
cols = [n for n in ["rust", "c", "sqlite", "oxide", "authlib", "oauthlib"] if n in names]
label = {"rust": "Rust API", "c": "C ABI", "sqlite": "Rust API, SQLite", "oxide": "oxide-auth",
         "authlib": "Authlib", "oauthlib": "oauthlib"}
print("| operation | " + " | ".join(label[c] for c in cols) +
      " | floor | allocations (Rust API) |")
print("|---|" + "--:|" * (len(cols) + 2))
for key, text in ops:
    cells = [fmt(median(c, key)) if c != "c" or "c" in names else c_missing for c in cols]
    fl = m["floors"].get(key)
    cells.append(fmt(statistics.median(fl) / 1000) if fl else "n/a")
    cells.append("%.2f" % m["allocs"][key] if key in m["allocs"] else "n/a")
    print(f"| {text} | " + " | ".join(cells) + " |")
print()
print("Ratios, each computed within a round: median (min–max over the rounds):")
print()
peers = [n for n in ["oxide", "authlib", "oauthlib"] if n in names]
heads = [f"{label[p]} / Rust API" for p in peers] + (["C ABI / Rust API"] if "c" in names else [])
print("| operation | " + " | ".join(heads + ["Rust API / floor"]) + " |")
print("|---|" + "--:|" * (len(heads) + 1))
for key, text in ops:
    cells = [summary(ratios(p, "rust", key), 1 if p == "oxide" else 0) for p in peers]
    if "c" in names:
        cells.append(summary(ratios("c", "rust", key), 2))
    cells.append(summary(floor_ratios(key), 1))
    print(f"| {text} | " + " | ".join(cells) + " |")
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
if [ -f "$OUT/latency/latency.md" ]; then
  { echo; cat "$OUT/latency/latency.md"; } | tee -a "$OUT/results.md"
fi
