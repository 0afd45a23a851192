#!/usr/bin/env bash
# Tests ngx_http_oauth2_module against the installed nginx: builds the
# module, writes the demo configuration (nginx/demo/run.sh --write-only)
# with a free port under a temporary prefix, checks it with nginx -t, runs
# nginx with two workers and the black-box tests (test_nginx.py: every
# grant served, 401/200/403, introspect/revoke in both workers, 413,
# hostile requests, reload), then a short run under valgrind memcheck with
# master_process off. Needs nginx, nginx-dev, valgrind, python3; fails
# (never skips) without them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for tool in nginx valgrind python3; do
  command -v "$tool" >/dev/null || { echo "tests: $tool is not installed" >&2; exit 1; }
done

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# Waits until nginx answers on PORT (the socket listens before nginx
# serves: under valgrind, start-up takes tens of seconds).
wait_http() { # PORT SECONDS
  python3 - "$1" "$2" <<'PY'
import http.client, sys, time
port, deadline = int(sys.argv[1]), time.time() + float(sys.argv[2])
while time.time() < deadline:
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=max(1, deadline - time.time()))
        c.request("GET", "/.well-known/oauth-authorization-server")
        if c.getresponse().status == 200:
            sys.exit(0)
    except OSError:
        time.sleep(0.2)
sys.exit("tests: nginx does not answer on port %d" % port)
PY
}

work=$(mktemp -d /tmp/oauth2-nginx-tests.XXXXXX)
chmod 755 "$work"  # the workers run as an unprivileged user
nginx_pid=
cleanup() {
  [ -n "$nginx_pid" ] && kill -TERM "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

echo "== build and configure"
port=$(free_port)
bash "$here/../demo/run.sh" --addr "127.0.0.1:$port" --workers 2 --prefix "$work/run" --write-only
conf=$work/run/nginx.conf
nginx -p "$work/run" -c "$conf" -t

echo "== nginx -t refuses what cannot be served"
refused() { # WHAT SED-EXPRESSION MESSAGE
  sed "$2" "$conf" >"$work/bad.conf"
  if nginx -p "$work/run" -c "$work/bad.conf" -t >"$work/bad.log" 2>&1; then
    echo "tests: nginx -t accepted $1" >&2
    exit 1
  fi
  grep -q "$3" "$work/bad.log" || { cat "$work/bad.log" >&2; exit 1; }
  echo "ok   $1: $(grep -o 'emerg\] .*' "$work/bad.log" | head -n 1)"
}
refused "the implicit grant" 's/oauth2_grants authorization_code/oauth2_grants implicit authorization_code/' 'is not served'
refused "no issuer" '/oauth2_issuer/d' 'oauth2_issuer'
refused "an http issuer off loopback" 's|oauth2_issuer http://[^;]*;|oauth2_issuer http://example.com;|' 'oauth2_issuer'
refused "an unknown client parameter" 's/ introspect;/ introspekt;/' 'invalid parameter'
refused "a client registered twice" 's/^\( *\)oauth2_user alice wonderland;/\1oauth2_client rs-client;\n\1oauth2_user alice wonderland;/' 'duplicate client'
refused "a zone too small" 's/oauth2_zone oauth2 [^;]*;/oauth2_zone oauth2 4k;/' 'invalid zone size'

echo "== two workers on 127.0.0.1:$port"
nginx -p "$work/run" -c "$conf" &
nginx_pid=$!
wait_http "$port" 30
python3 "$here/test_nginx.py" "127.0.0.1:$port" "$work/run" || {
  tail -n 20 "$work/run/error.log" >&2
  exit 1
}
kill -QUIT "$nginx_pid"
wait "$nginx_pid"
nginx_pid=
if grep -E '\[(alert|emerg|crit)\]' "$work/run/error.log"; then
  echo "tests: nginx logged alerts" >&2
  exit 1
fi

echo "== a small zone (32k): consent forms expire and cannot fill it; full: server_error, nothing corrupted"
port=$(free_port)
bash "$here/../demo/run.sh" --addr "127.0.0.1:$port" --workers 1 --zone 32k --prefix "$work/full" --write-only >/dev/null
# consent forms live 2 s (test_nginx.py waits for one to expire)
sed -i 's/^\( *\)oauth2_zone \(.*\)$/\1oauth2_zone \2\n\1oauth2_consent_ttl 2s;/' "$work/full/nginx.conf"
grep -q 'oauth2_consent_ttl 2s;' "$work/full/nginx.conf"
nginx -p "$work/full" -c "$work/full/nginx.conf" &
nginx_pid=$!
wait_http "$port" 30
python3 "$here/test_nginx.py" "127.0.0.1:$port" "$work/full" --full-zone
kill -QUIT "$nginx_pid"
wait "$nginx_pid"
nginx_pid=

echo "== the SQLite store (oauth2_sqlite): tokens survive a restart"
port=$(free_port)
bash "$here/../demo/run.sh" --addr "127.0.0.1:$port" --workers 2 --prefix "$work/sq" --write-only >/dev/null
mkdir -p "$work/sq/db"
chmod 777 "$work/sq/db"  # the workers create SQLite's -wal and -shm files
sed -i 's|^\( *\)oauth2_zone \(.*\)$|\1oauth2_zone \2\n\1oauth2_sqlite db/oauth2.db;|' "$work/sq/nginx.conf"
grep -q 'oauth2_sqlite db/oauth2.db;' "$work/sq/nginx.conf"
for phase in before after; do
  nginx -p "$work/sq" -c "$work/sq/nginx.conf" &
  nginx_pid=$!
  wait_http "$port" 60
  python3 "$here/test_nginx.py" "127.0.0.1:$port" "$work/sq" --sqlite-$phase || {
    tail -n 20 "$work/sq/error.log" >&2
    exit 1
  }
  kill -QUIT "$nginx_pid"
  wait "$nginx_pid"
  nginx_pid=
done
if grep -E '\[(alert|emerg|crit)\]' "$work/sq/error.log"; then
  echo "tests: nginx logged alerts" >&2
  exit 1
fi

echo "== valgrind memcheck, master_process off"
port=$(free_port)
bash "$here/../demo/run.sh" --addr "127.0.0.1:$port" --prefix "$work/vg" --write-only >/dev/null
# one process, one listening socket (with reuseport, nginx opens one per
# worker, and the single process accepts on the first only)
sed -i -e 's/^daemon off;/daemon off;\nmaster_process off;/' -e 's/^worker_processes .*;/worker_processes 1;/' "$work/vg/nginx.conf"
# nginx itself does not free its connections in single-process mode:
# those allocations are suppressed, nothing of the module or the library.
valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
  --suppressions="$here/nginx.supp" --log-file="$work/valgrind.log" nginx -p "$work/vg" -c "$work/vg/nginx.conf" &
nginx_pid=$!
wait_http "$port" 300
python3 "$here/test_nginx.py" "127.0.0.1:$port" "$work/vg" --quick
kill -QUIT "$nginx_pid"
rc=0
wait "$nginx_pid" || rc=$?
nginx_pid=
if [ "$rc" -ne 0 ] || [ -s "$work/valgrind.log" ]; then
  cat "$work/valgrind.log" >&2
  echo "tests: valgrind found errors (exit $rc)" >&2
  exit 1
fi
echo "== the module built against the installed library (pkg-config oauth2_provider)"
root=$(cd "$here/../.." && pwd)
make -C "$root/ffi" install PREFIX="$work/pc" TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}" >"$work/install.log" 2>&1 || {
  tail -n 20 "$work/install.log" >&2
  exit 1
}
so=$(PKG_CONFIG_PATH="$work/pc/lib/pkgconfig" BUILD_DIR="$work/pc-build" bash "$here/../build.sh" | tail -n 1)
grep -q -- "$work/pc/lib/liboauth2_provider.a" "$work/pc-build/src/objs/Makefile" || {
  echo "tests: the module was not linked with the installed archive" >&2
  exit 1
}
if ldd "$so" | grep -q oauth2_provider; then
  echo "tests: the module depends on the shared library" >&2
  exit 1
fi
exports=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDB]$/ {print $3}' | sort | tr '\n' ' ')
[ "$exports" = "ngx_http_oauth2_module ngx_module_names ngx_module_order ngx_modules " ] || {
  echo "tests: unexpected exports: $exports" >&2
  exit 1
}
echo "ok   linked with the installed archive, exports: $exports"
echo "nginx tests passed"
