#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster in a directory, for the tests.
#
#   .ci/postgres.sh start DIR   creates the cluster in DIR if it has none,
#                               starts it, and prints its connection string
#                               (key=value, Unix socket in DIR, user postgres)
#   .ci/postgres.sh stop DIR    stops it (fast shutdown)
#   .ci/postgres.sh kill DIR    stops it at once (immediate shutdown)
#
# The server listens on a Unix socket in DIR only (no TCP port to collide
# with). initdb refuses to run as root: as root, the cluster belongs to
# the unprivileged user `postgres` (created if missing), who is given DIR.
set -euo pipefail

action=${1:?usage: postgres.sh start|stop|kill DIR}
dir=${2:?usage: postgres.sh start|stop|kill DIR}
bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
port=${PG_PORT:-5432}

if [ ! -x "$bin/initdb" ]; then
  echo "FATAL: $bin/initdb not found: install PostgreSQL 15 (apt-get install postgresql-15)" >&2
  exit 1
fi

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case "$action" in
  start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ "$(id -u)" -eq 0 ]; then
      id -u postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
      chown postgres "$dir"
      runuser -u postgres -- test -w "$dir" || {
        echo "FATAL: user postgres cannot write to $dir (is a parent directory private?)" >&2
        exit 1
      }
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync \
        -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        exit 1
      }
    fi
    # fsync off unless PG_OPTIONS says otherwise: a test cluster needs no
    # durability, and runs faster.
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-k $dir -c listen_addresses= -p $port -c max_connections=300 ${PG_OPTIONS:--c fsync=off}" \
      start >/dev/null || {
      cat "$dir/server.log" >&2
      exit 1
    }
    echo "host=$dir port=$port user=postgres dbname=postgres"
    ;;
  stop | kill)
    mode=fast
    [ "$action" = kill ] && mode=immediate
    as_owner "$bin/pg_ctl" -D "$dir/data" -m "$mode" -w stop >/dev/null
    ;;
  *)
    echo "usage: postgres.sh start|stop|kill DIR" >&2
    exit 2
    ;;
esac
