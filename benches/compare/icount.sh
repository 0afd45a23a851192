#!/usr/bin/env bash
# Instructions per request, counted by valgrind (callgrind), which do not
# depend on what else the machine runs, unlike the times of run.sh. For each
# operation of benches/compare, and for each driver (Rust API, C ABI): the
# whole driver's instructions at 2R rounds minus at R rounds, divided by the
# R x BATCH calls in between, so that start-up and set-up cancel out and
# both drivers are counted alike. "call alone" is the Rust driver's
# instructions inside `compare::timed_call` only (the measured call without
# the driver's loop and its inputs' set-up), the figure to profile with:
#   valgrind --tool=callgrind --toggle-collect='compare::timed_call*' ...
# Valgrind runs SHA-256 in software (about 3,400 instructions a hash) where
# the hardware's SHA extensions take about 0.06 µs; it counts no time spent
# in the kernel.
#
# Usage: benches/compare/icount.sh [OPERATION...]   (default: all five)
# Environment: ROUNDS (default 11), BATCH (default 1000), OUT (the C
#   driver's directory, default target/compare).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=${OUT:-$ROOT/target/compare}
ROUNDS=${ROUNDS:-11}
BATCH=${BATCH:-1000}
OPS=("$@")
[ ${#OPS[@]} -gt 0 ] || OPS=(client_credentials auth_code_pkce refresh_rotation introspection bearer_check)
command -v valgrind >/dev/null || { echo "icount.sh: valgrind is needed (apt-get install valgrind)" >&2; exit 1; }

RUST_BENCH=$(cargo bench --quiet --bench compare --no-run --message-format=json |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "compare" and m.get("executable"):
        print(m["executable"])')
mkdir -p "$OUT"
cargo build --release --quiet -p oauth2-provider-ffi
cc -std=c11 -O2 -Wall -Wextra -Wpedantic -Werror -I include -o "$OUT/c_driver" \
  benches/compare/c_driver.c benches/compare/c_store.c \
  target/release/liboauth2_provider.a -lpthread -ldl -lm

refs() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 | awk '/refs:/ {gsub(",", "", $4); print $4}'; }

per_call() { # DRIVER OP: instructions per call, by the difference of two runs
  local short long
  short=$(refs "$1" --only "$2" --rounds "$ROUNDS" --batch "$BATCH")
  long=$(refs "$1" --only "$2" --rounds $((2 * ROUNDS)) --batch "$BATCH")
  echo $(((long - short) / (ROUNDS * BATCH)))
}

printf '%-20s %12s %10s %10s %8s\n' operation "call alone" "Rust API" "C ABI" "C/Rust"
for op in "${OPS[@]}"; do
  alone=$(refs --toggle-collect='compare::timed_call*' "$RUST_BENCH" --only "$op" --rounds "$ROUNDS" --batch "$BATCH")
  rust=$(per_call "$RUST_BENCH" "$op")
  c=$(per_call "$OUT/c_driver" "$op")
  printf '%-20s %12d %10d %10d %7sx\n' "$op" $((alone / (ROUNDS * BATCH))) "$rust" "$c" \
    "$(python3 -c "print(f'{$c / $rust:.2f}')")"
done
