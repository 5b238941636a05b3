#!/usr/bin/env bash
# Runs the README as a newcomer would: a fresh clone of this repository, `cargo run --release --
# serve` there (plus `--listen` on a free port, the only flag added), then every command of the
# README's "First steps with curl" block, taken from README.md itself, with assertions on the
# answers; last SIGTERM and a check that the server stopped cleanly. Leaves nothing running.
#
# It reuses this checkout's target directory (CARGO_TARGET_DIR, default ./target) so the clone does
# not compile from zero. Needs git, curl, jq and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(scripts/target-dir.sh)}"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/openpim-readme.XXXXXX")
CLONE="$WORK/clone"
RESP="$WORK/responses"
LOG="$WORK/serve.log"
SERVER_PID=

cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
    echo "readme-check: FAIL: $*" >&2
    if [ -f "$LOG" ]; then
        echo "---- server log" >&2
        tail -n 40 "$LOG" >&2
    fi
    exit 1
}

echo "== readme-check: fresh clone in $CLONE"
git clone -q "$REPO" "$CLONE"
cd "$CLONE"
grep -q '^cargo run --release -- serve' README.md || fail "README's first command is no longer 'cargo run --release -- serve'"

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "== readme-check: cargo build --release (target dir $CARGO_TARGET_DIR)"
cargo build -q --release --locked

echo "== readme-check: cargo run --release -- serve --listen 127.0.0.1:$PORT"
cargo run -q --release -- serve --listen "127.0.0.1:$PORT" >"$LOG" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 120); do
    curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited during start"
    sleep 0.5
done
curl -fsS "http://127.0.0.1:$PORT/healthz" | jq -e '.status == "ok"' >/dev/null || fail "/healthz did not answer ok"
# `cargo run` execs the binary, so the pid we hold is the server's own (SIGTERM reaches it).
[ "$(cat "/proc/$SERVER_PID/comm" 2>/dev/null || echo openpim)" = openpim ] || fail "pid $SERVER_PID is not the openpim server"

# The README's "First steps with curl" block, verbatim except for the port.
awk '/^## First steps with curl/ {inside=1; next} inside && /^```sh/ {code=1; next} code && /^```/ {exit} code {print}' \
    README.md >"$WORK/first-steps.sh"
[ -s "$WORK/first-steps.sh" ] || fail "no sh block under '## First steps with curl' in README.md"
sed -i "s|http://127.0.0.1:8080|http://127.0.0.1:$PORT|g" "$WORK/first-steps.sh"

# Every curl the block runs is recorded: its arguments, HTTP status and body, numbered in order.
mkdir -p "$RESP"
echo 0 >"$RESP/count"
curl() {
    local n
    n=$(($(cat "$RESP/count") + 1))
    echo "$n" >"$RESP/count"
    printf '%s\n' "$*" >"$RESP/$n.args"
    command curl -o "$RESP/$n.body" -w '%{http_code}' "$@" >"$RESP/$n.status"
    cat "$RESP/$n.body"
}
# The body of the last recorded call whose arguments contain $1; fails unless its status is $2.
answer() {
    local n found=
    for ((n = $(cat "$RESP/count"); n >= 1; n--)); do
        if grep -qF -- "$1" "$RESP/$n.args"; then found=$n; break; fi
    done
    [ -n "$found" ] || fail "the README made no call to $1"
    [ "$(cat "$RESP/$found.status")" = "$2" ] \
        || fail "$1 answered $(cat "$RESP/$found.status"), expected $2: $(cat "$RESP/$found.body")"
    cat "$RESP/$found.body"
}

echo "== readme-check: README 'First steps with curl'"
# Sourced under `set -e`, so the first failing README command stops the check.
set +u
trap 'fail "a README command failed (its output: $(cat "$WORK/first-steps.out"))"' ERR
# shellcheck disable=SC1091
source "$WORK/first-steps.sh" >"$WORK/first-steps.out"
trap - ERR
set -u

# Tokens: three JWT segments.
[[ "${TOKEN:-}" =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$ ]] || fail "TOKEN is not a JWT: '${TOKEN:-}'"
[[ "${BOB_TOKEN:-}" =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$ ]] || fail "BOB_TOKEN is not a JWT"
answer 'roleDefinitions?$filter=' 200 \
    | jq -e '(.value | length) == 1 and .value[0].displayName == "Global Reader"' >/dev/null \
    || fail "the roleDefinitions filter did not return exactly Global Reader"
answer '/v1.0/users' 201 | jq -e '.userPrincipalName == "bob@openpim.local"' >/dev/null || fail "bob was not created"
[[ "${BOB:-}" =~ ^[0-9a-f-]{36}$ ]] || fail "BOB is not an object id: '${BOB:-}'"
answer 'roleEligibilityScheduleRequests' 201 \
    | jq -e --arg bob "$BOB" '.action == "adminAssign" and .principalId == $bob and .status == "Provisioned"' >/dev/null \
    || fail "the eligibility was not provisioned"
answer 'roleAssignmentScheduleRequests' 201 \
    | jq -e --arg bob "$BOB" '.action == "selfActivate" and .principalId == $bob and (.status == "Provisioned" or .status == "Granted")' >/dev/null \
    || fail "the activation was not granted"
answer 'roleAssignmentScheduleInstances/filterByCurrentUser' 200 \
    | jq -e '[.value[] | select(.roleDefinitionId == "fe930be7-5e62-47db-91af-98c3a49a38b1" and .assignmentType == "Activated")] | length == 1' >/dev/null \
    || fail "bob's instances do not show the activated User Administrator role"
answer 'openpim/accessCheck' 200 | jq -e '.allowed == true' >/dev/null || fail "the access check did not allow the password reset"
echo "   $(cat "$RESP/count") README calls answered as expected"

echo "== readme-check: SIGTERM"
kill -TERM "$SERVER_PID"
status=0
wait "$SERVER_PID" || status=$?
SERVER_PID=
[ "$status" = 0 ] || fail "the server exited with status $status after SIGTERM"
grep -q "shutting down" "$LOG" || fail "no 'shutting down' line in the server log"
if command curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then fail "something still answers on port $PORT"; fi
echo "== readme-check: OK"
