#!/usr/bin/env bash
# What a call of the SQLite store costs beside its instructions
# (icount.sh, STORE=sqlite): the pages each write transaction appends to
# the write-ahead log, and the system calls per call. The Rust driver
# (main.rs --store sqlite, a fresh file in WAL mode, as run.sh's sqlite
# contender) serves one batch of each operation under strace. Each call
# commits one transaction, after the batch's set-up (the codes an
# exchange consumes, the refresh tokens a refresh rotates) has committed
# its own: the calls are the last BATCH commits, found in the log by
# their frame headers (a frame is a 24-byte header, which names its page
# and, on a transaction's last frame, the database's size, then the page).
# Fewest: the pages of the batch's cheapest calls (the rows written);
# at fewest: the share of calls that wrote no more (the others also
# rebalanced a b-tree leaf that overflowed with its siblings).
# System calls are counted from the end of the commit before the first
# call to the end of the last one: the log's checkpoints (every 4,000
# pages) fall in that span in their share.
#
# Usage: benches/compare/sqlite_io.sh [OPERATION...]
#   (default: client_credentials auth_code_pkce refresh_rotation)
# Environment: BATCH (default 1000), LIVE (live tokens in the store before,
#   default 10000), OUT (work directory, default target/compare).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=${OUT:-$ROOT/target/compare}
BATCH=${BATCH:-1000}
LIVE=${LIVE:-10000}
OPS=("$@")
[ ${#OPS[@]} -gt 0 ] || OPS=(client_credentials auth_code_pkce refresh_rotation)
command -v strace >/dev/null || { echo "sqlite_io.sh: strace is needed (apt-get install strace)" >&2; exit 1; }

RUST_BENCH=$(bash "$ROOT/benches/compare/rust_driver.sh")
mkdir -p "$OUT"

printf '%-20s %10s %7s %9s %14s %8s %6s %10s %6s\n' operation pages/call fewest "at fewest" syscalls/call pwrite fcntl getrandom pread
for op in "${OPS[@]}"; do
  log=$OUT/sqlite_io.$op.strace
  echo "batch $op $BATCH" | strace -f -xx -s 8 -o "$log" "$RUST_BENCH" --store sqlite --live "$LIVE" >/dev/null
  python3 - "$log" "$BATCH" "$op" <<'PY'
import collections, re, sys
log, n, op = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = open(log).read().splitlines()
frame = re.compile(r'^\d+\s+pwrite64\(\d+, "((?:\\x[0-9a-f]{2})+)"(?:\.\.\.)?, 24, ')
commits, pages = [], []  # line of each commit's header; frames of each transaction
current = 0
for i, line in enumerate(lines):
    m = frame.match(line)
    if not m:
        continue
    header = bytes(int(x, 16) for x in m.group(1).split('\\x')[1:])
    current += 1
    if int.from_bytes(header[4:8], 'big'):  # the commit frame: the database's size
        commits.append(i)
        pages.append(current)
        current = 0
if len(commits) <= n:
    sys.exit(f"sqlite_io.sh: {op}: {len(commits)} commits, fewer than the batch")
calls = pages[-n:]
fewest = min(calls)  # the pages the rows themselves change; more when a leaf is rebalanced
at_fewest = sum(p == fewest for p in calls) / n
counts = collections.Counter()
for line in lines[commits[-n - 1] + 2:commits[-1] + 2]:
    m = re.match(r'^\d+\s+(\w+)\(', line)
    if m:
        counts[m.group(1)] += 1
per = lambda name: counts[name] / n
print(f"{op:<20} {sum(calls) / n:10.2f} {fewest:7d} {at_fewest:9.0%} {sum(counts.values()) / n:14.2f} "
      f"{per('pwrite64'):8.2f} {per('fcntl'):6.2f} {per('getrandom'):10.2f} {per('pread64'):6.2f}")
PY
done
