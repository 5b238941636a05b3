#!/usr/bin/env bash
# Runs every OpenPIM test: formatting, lints, and the Rust suites (core unit tests, store,
# and HTTP tests against real servers on random ports).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked
