#!/usr/bin/env bash
# Builds the Rust driver of benches/compare (the `compare` bench target:
# the Rust API over MemoryValidator, or over SQLite with --store sqlite)
# and prints its executable's path. Used by run.sh, icount.sh and
# sqlite_io.sh. Honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo bench --quiet --bench compare --no-run --message-format=json |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "compare" and m.get("executable"):
        print(m["executable"])'
