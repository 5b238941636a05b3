#!/usr/bin/env bash
# Runs every OpenPIM test: formatting, lints, the Rust suites (core unit tests, OData, and HTTP
# tests against real servers on random ports), then the official Microsoft Graph Python SDK
# driving a real server (tests/sdk, in a virtualenv this script creates), its beta SDK driving
# /beta (tests/sdk_beta), the official Azure SDK
# for Python driving a real server over HTTPS (tests/azure_sdk, likewise), and last the web UI in
# Chromium (tests/browser).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

# The OpenID provider of the sign-in tests (crates/openpim-server/tests/integration/oidc.rs and the CLI's
# device-flow login, crates/openpim-cli/tests/oidc_login.rs). Without node
# those tests skip loudly; with node they need these packages.
if command -v node >/dev/null 2>&1; then
    echo "== npm ci (tests/oidc)"
    (cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "== cargo test (SQLite store)"
env -u OPENPIM_TEST_POSTGRES_URL cargo test --workspace --locked

echo "== policy as code at scale: 10,000 eligibilities applied and planned again (SQLite store)"
env -u OPENPIM_TEST_POSTGRES_URL cargo test --locked -p openpim-cli --test as_code -- --ignored ten_thousand_eligibilities --nocapture

echo "== container files (docker build when a daemon is up, else hadolint and a compose check)"
./scripts/check-container.sh

if [ -n "${OPENPIM_TEST_POSTGRES_URL:-}" ]; then
    echo "== HTTP suite again on the PostgreSQL store ($OPENPIM_TEST_POSTGRES_URL)"
    cargo test --locked -p openpim-server -- --include-ignored
    echo "== the store's own suites (audit chain tampering, group commit, backends) on PostgreSQL"
    cargo test --locked -p openpim-store
    echo "== policy as code (openpim export/plan/apply) on the PostgreSQL store"
    cargo test --locked -p openpim-cli --test as_code
    echo "== PostgreSQL backup: pg_dump/pg_restore round trip"
    cargo test --locked -p openpim-cli --test backup -- --include-ignored
fi

echo "== e-mail over TLS against aiosmtpd (STARTTLS, implicit TLS, AUTH)"
env -u OPENPIM_TEST_POSTGRES_URL ./scripts/test-smtp-tls.sh

echo "== Microsoft Graph Python SDK suite (SQLite store)"
env -u OPENPIM_TEST_POSTGRES_URL ./scripts/test-sdk.sh

if [ -n "${OPENPIM_TEST_POSTGRES_URL:-}" ]; then
    echo "== Microsoft Graph Python SDK suite (PostgreSQL store)"
    ./scripts/test-sdk.sh
fi

echo "== Microsoft Graph Beta Python SDK suite (SQLite store)"
env -u OPENPIM_TEST_POSTGRES_URL ./scripts/test-sdk-beta.sh

if [ -n "${OPENPIM_TEST_POSTGRES_URL:-}" ]; then
    echo "== Microsoft Graph Beta Python SDK suite (PostgreSQL store)"
    ./scripts/test-sdk-beta.sh
fi

echo "== Azure SDK for Python suite over HTTPS (SQLite store)"
env -u OPENPIM_TEST_POSTGRES_URL ./scripts/test-azure-sdk.sh

if [ -n "${OPENPIM_TEST_POSTGRES_URL:-}" ]; then
    echo "== Azure SDK for Python suite over HTTPS (PostgreSQL store)"
    ./scripts/test-azure-sdk.sh
fi

echo "== Web UI browser suite (SQLite store)"
env -u OPENPIM_TEST_POSTGRES_URL ./scripts/test-browser.sh
