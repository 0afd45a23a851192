#!/usr/bin/env bash
# Instructions per request, counted by valgrind (callgrind), which do not
# depend on what else the machine runs, unlike the times of run.sh: for
# each operation of benches/compare, the instructions inside the measured
# call alone (`compare::timed_call` in the Rust driver, `timed_call` in the
# C driver, each never inlined) divided by the calls made. Set-up (the
# authorization code an exchange consumes, the refresh token a refresh
# does) is not counted, as it is not timed.
# Valgrind runs SHA-256 in software (about 3,400 instructions a hash) where
# the hardware's SHA extensions take about 0.06 µs; it counts no time spent
# in the kernel.
#
# Usage: benches/compare/icount.sh [OPERATION...]   (default: all five)
# Environment: ROUNDS (default 11), BATCH (default 1000), LIVE (live
#   tokens in the store, default 10000), OUT (the C driver's directory,
#   default target/compare), CACHE_SIM=1 (also the data-cache misses per
#   call of valgrind's cache simulation, first level and last level, with
#   the host's cache sizes: where a store's layout shows, which
#   instruction counts miss; slower), STORE=sqlite (the Rust driver over
#   the SQLite store, `--store sqlite`: a fresh file, as run.sh's sqlite
#   contender; the C column is left out). The drivers are the workers of run.sh, fed
#   ROUNDS "batch OPERATION BATCH" commands; the set-up (filling the store,
#   the equivalence checks) is outside the counted call.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=${OUT:-$ROOT/target/compare}
ROUNDS=${ROUNDS:-11}
BATCH=${BATCH:-1000}
LIVE=${LIVE:-10000}
STORE=${STORE:-memory}
case "$STORE" in memory | sqlite) ;; *) echo "icount.sh: STORE is memory or sqlite" >&2; exit 1 ;; esac
OPS=("$@")
[ ${#OPS[@]} -gt 0 ] || OPS=(client_credentials auth_code_pkce refresh_rotation introspection bearer_check)
command -v valgrind >/dev/null || { echo "icount.sh: valgrind is needed (apt-get install valgrind)" >&2; exit 1; }

RUST_BENCH=$(bash "$ROOT/benches/compare/rust_driver.sh")
mkdir -p "$OUT"
if [ "$STORE" = memory ]; then
  cargo build --release --quiet -p oauth2-provider-ffi
  cc -std=c11 -O2 -Wall -Wextra -Wpedantic -Werror -I include -I benches/compare -o "$OUT/c_driver" \
    benches/compare/c_driver.c benches/compare/c_store.c \
    "${CARGO_TARGET_DIR:-target}/release/liboauth2_provider.a" -lpthread -ldl -lm
fi

SIM=()
[ "${CACHE_SIM:-0}" = 1 ] && SIM=(--cache-sim=yes)

# Valgrind's totals inside the counted call: instructions, and with
# CACHE_SIM=1 the simulated first-level and last-level data-cache misses
# (0 without it).
counts() {
  valgrind --tool=callgrind "${SIM[@]}" --callgrind-out-file=/dev/null "$@" 2>&1 |
    awk '{ gsub(",", "") }
      $2 == "I" && $3 == "refs:" { i = $4 }
      $2 == "D1" && $3 == "misses:" { d = $4 }
      $2 == "LLd" && $3 == "misses:" { l = $4 }
      END { print i + 0, d + 0, l + 0 }'
}

per_call() { # DRIVER CALL OP [ARG...]: instructions, D1 and LLd misses inside CALL, per call
  local n driver=$1 call=$2 op=$3
  shift 3
  for n in $(seq 1 "$ROUNDS"); do echo "batch $op $BATCH"; done |
    counts --toggle-collect="$call" "$driver" --live "$LIVE" "$@" |
    awk -v n=$((ROUNDS * BATCH)) '{ printf "%d %.2f %.2f\n", $1 / n, $2 / n, $3 / n }'
}

if [ ${#SIM[@]} -gt 0 ]; then
  printf '%-20s %10s %10s %8s %12s %12s %12s %12s\n' operation "Rust API" "C ABI" "C/Rust" \
    "Rust D1 miss" "C D1 miss" "Rust LL miss" "C LL miss"
else
  printf '%-20s %10s %10s %8s\n' operation "Rust API" "C ABI" "C/Rust"
fi
for op in "${OPS[@]}"; do
  read -r rust rust_d1 rust_ll < <(per_call "$RUST_BENCH" 'compare::timed_call*' "$op" --store "$STORE")
  if [ "$STORE" = sqlite ]; then
    # The C ABI has no SQLite driver here: its columns stay empty.
    c=- c_d1=- c_ll=- ratio=-
  else
    read -r c c_d1 c_ll < <(per_call "$OUT/c_driver" 'timed_call' "$op")
    ratio=$(python3 -c "print(f'{$c / $rust:.2f}x')")
  fi
  if [ ${#SIM[@]} -gt 0 ]; then
    printf '%-20s %10d %10s %8s %12s %12s %12s %12s\n' "$op" "$rust" "$c" "$ratio" \
      "$rust_d1" "$c_d1" "$rust_ll" "$c_ll"
  else
    printf '%-20s %10d %10s %8s\n' "$op" "$rust" "$c" "$ratio"
  fi
done
