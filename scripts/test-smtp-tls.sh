#!/usr/bin/env bash
# E-mail notifications over TLS against a real SMTP server: Python's aiosmtpd (pinned in
# tests/smtp_tls/requirements.txt, in the virtualenv .venv-smtp) requiring STARTTLS or implicit
# TLS and AUTH, with a throw-away CA (scripts/make-test-ca.sh, removed on exit). Runs the
# `emails_go_over_*` tests of crates/openpim-server/tests/integration/notifications.rs, which
# skip without the variables set here. SQLite by default; PostgreSQL when
# OPENPIM_TEST_POSTGRES_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v openssl >/dev/null 2>&1; then
    echo "test-smtp-tls.sh: openssl is required (it makes the test CA)" >&2
    exit 1
fi
VENV=.venv-smtp
scripts/python-venv.sh "$VENV" tests/smtp_tls/requirements.txt

CERTS=$(mktemp -d "${TMPDIR:-/tmp}/openpim-smtp-tls.XXXXXX")
trap 'rm -rf "$CERTS"' EXIT
scripts/make-test-ca.sh "$CERTS"

export OPENPIM_TEST_SMTP_PYTHON="$PWD/$VENV/bin/python"
export OPENPIM_TEST_SMTP_CERTS="$CERTS"
echo "== e-mail over TLS (aiosmtpd, $( [ -n "${OPENPIM_TEST_POSTGRES_URL:-}" ] && echo PostgreSQL || echo SQLite ) store)"
cargo test --locked -p openpim-server --test integration emails_go_over_ -- "$@"
