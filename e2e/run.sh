#!/usr/bin/env bash
# End-to-end tests of the demo server against the real release binary:
#   1. e2e/oauthlib_client.py — oauthlib + requests-oauthlib (PyPI, in e2e/.venv)
#   2. e2e/browser/consent.mjs — Debian's headless Chromium via playwright-core
#      (npm, in e2e/node_modules; no browser is ever downloaded); saves
#      target/consent.png
#   3. examples/demo_load.rs — bounded load (8 threads x 1500 requests) and
#      hostile clients, loopback only. One step in 11 logs alice in on the
#      consent page, and the SQLite store checks her password with PBKDF2
#      (600,000 iterations, some 80 ms of CPU): those logins set the pace
#      on two cores, hence the smaller load than over memory
#   4. e2e/persistence.py — the SQLite store: a restart (kill -9) loses no
#      token; two servers on one file race a code and see each other's
#      revocations
#   5. e2e/postgres.py — three servers over one PostgreSQL 15 database (a
#      throwaway cluster of its own, .ci/postgres.sh) with racing clients:
#      single use, reuse and revocation across servers, a server killed
#      under load, a database stopped and started under the servers
#
# The server runs as users run it: on its default store, an SQLite file
# (here a fresh one in target/e2e).
# Usage: bash e2e/run.sh            (from anywhere; idempotent)
# Needs: cargo, python3 (venv, pip), node + npm, and Debian's chromium and
# chromium-driver (installed with apt-get when missing and running as root).
# Starts the server on an ephemeral port, kills it on exit, and exits
# non-zero on any failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="$ROOT/target/e2e"
mkdir -p "$OUT"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

step() { printf '\n== %s\n' "$*"; }

step "build (release): demo_server, demo_load"
cargo build --release --example demo_server --example demo_load

step "python: oauthlib + requests-oauthlib in e2e/.venv"
if [ ! -x e2e/.venv/bin/python ]; then
    python3 -m venv e2e/.venv
fi
e2e/.venv/bin/python -m pip install --quiet --disable-pip-version-check -r e2e/requirements.txt

step "browser: Debian chromium + playwright-core"
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "chromium and chromium-driver are missing: apt-get install -y chromium chromium-driver (as root)" >&2
        exit 1
    fi
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver
fi
if [ ! -f e2e/node_modules/playwright-core/package.json ] ||
    ! grep -q "\"version\": \"$(sed -n 's/.*"playwright-core": "\(.*\)".*/\1/p' e2e/package.json)\"" \
        e2e/node_modules/playwright-core/package.json; then
    (cd e2e && npm install --no-audit --no-fund --package-lock=false)
fi

step "start the demo server on an ephemeral port"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT INT TERM
rm -f "$OUT"/demo.sqlite3*
target/release/examples/demo_server --addr 127.0.0.1:0 --db "$OUT/demo.sqlite3" \
    >"$OUT/server.out" 2>"$OUT/server.log" &
SERVER_PID=$!
BASE=""
for _ in $(seq 1 100); do
    FIRST="$(head -n 1 "$OUT/server.out" 2>/dev/null || true)"
    case "$FIRST" in
    "listening on http://"*)
        BASE="${FIRST#listening on }"
        break
        ;;
    esac
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        break
    fi
    sleep 0.1
done
if [ -z "$BASE" ]; then
    echo "the demo server did not start:" >&2
    cat "$OUT/server.out" "$OUT/server.log" >&2 || true
    exit 1
fi
echo "server: $BASE (pid $SERVER_PID, log $OUT/server.log)"

FAILED=()
run() {
    local name="$1"
    shift
    step "$name"
    if "$@"; then
        echo "-- $name: passed"
    else
        echo "-- $name: FAILED"
        FAILED+=("$name")
    fi
}

run "oauthlib client" env OAUTHLIB_INSECURE_TRANSPORT=1 e2e/.venv/bin/python e2e/oauthlib_client.py "$BASE"
run "browser" node e2e/browser/consent.mjs "$BASE" "$ROOT/target/consent.png"
run "load and hostile clients" target/release/examples/demo_load --base "$BASE" --threads 8 --requests 1500
run "persistence (SQLite)" python3 e2e/persistence.py target/release/examples/demo_server
run "several servers over one PostgreSQL" python3 e2e/postgres.py target/release/examples/demo_server

step "the server is still up and serving"
if kill -0 "$SERVER_PID" 2>/dev/null &&
    curl -fsS "$BASE/.well-known/oauth-authorization-server" | grep -q "\"issuer\":\"$BASE\""; then
    echo "-- still serving: passed"
else
    echo "-- still serving: FAILED"
    FAILED+=("still serving")
fi
# The log never carries a secret, token or code.
if grep -E "conf-secret|rs-secret|wonderland|code=|access_token|refresh_token|\?" "$OUT/server.log" >/dev/null; then
    echo "-- server log is free of secrets: FAILED"
    FAILED+=("log hygiene")
else
    echo "-- server log is free of secrets: passed ($(wc -l <"$OUT/server.log") lines)"
fi

TOTAL=6
echo
if [ "${#FAILED[@]}" -ne 0 ]; then
    echo "failed: ${FAILED[*]}"
    echo "e2e: $((TOTAL - ${#FAILED[@]})) passed, ${#FAILED[@]} failed"
    exit 1
fi
echo "e2e: $TOTAL passed, 0 failed"
