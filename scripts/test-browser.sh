#!/usr/bin/env bash
# Drives the web UI in Debian's Chromium with playwright-core (tests/browser): installs Chromium
# and libfaketime from Debian if missing, installs the pinned npm packages, builds the openpim
# binary, and runs the journeys against a real server on a free port (oidc.test.mjs also starts
# the OpenID provider of tests/oidc). Screenshots of every step
# land in test-artifacts/browser/ (git-ignored). Extra arguments go to `node --test`.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 ] || [ -e /usr/lib/faketime/libfaketime.so.1 ] || need_apt+=(faketime)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "== apt-get install ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "${need_apt[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "${need_apt[@]}" >/dev/null; }
fi

echo "== npm ci (tests/browser, tests/oidc)"
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
# The OpenID provider the sign-in journey (oidc.test.mjs) signs in at.
(cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error)

echo "== cargo build --locked -p openpim-cli"
cargo build --locked -p openpim-cli

export OPENPIM_BIN="${OPENPIM_BIN:-$(scripts/target-dir.sh)/debug/openpim}"
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

echo "== node --test tests/browser"
# Each run's screenshots only (node may run the journeys in any order).
rm -rf test-artifacts/browser
cd tests/browser
exec node --test --test-concurrency=1 "$@" journey.test.mjs oidc.test.mjs azure.test.mjs admin.test.mjs shell.test.mjs myroles.test.mjs
