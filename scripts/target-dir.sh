#!/usr/bin/env bash
# Prints the absolute path of Cargo's target directory for this workspace, as Cargo itself
# resolves it: $CARGO_TARGET_DIR (relative to the current directory), `build.target-dir` in a
# .cargo/config, or ./target. Scripts use it to find the binaries they just built.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo metadata --format-version 1 --no-deps --offline 2>/dev/null \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p' \
    | grep . || { echo "scripts/target-dir.sh: could not ask cargo for the target directory" >&2; exit 1; }
