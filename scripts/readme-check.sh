#!/usr/bin/env bash
# Runs the README as a newcomer would: a fresh clone of this repository, `cargo run --release --
# serve` there (plus `--listen` on a free port, the only flag added), then every command of the
# README's "First steps with curl" block, taken from README.md itself, with assertions on the
# answers; last SIGTERM and a check that the server stopped cleanly. Then the same for the
# README's Azure walkthrough over HTTPS (a second server with a test CA). Leaves nothing running.
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
# The README's "Azure resource roles: first steps over HTTPS": its first block (a test CA and
# `cargo run --release -- serve` with TLS) started as written but on a free port, its second block
# (the ARM walkthrough with curl) sourced like the first steps, with assertions on the answers.
echo "== readme-check: README 'Azure resource roles: first steps over HTTPS'"
awk '/^## Azure resource roles/ {inside=1; next} inside && /^## / {exit} inside && /^```sh/ {code=1; n++; next}
     code && /^```/ {code=0; next} code {print > ("'"$WORK"'/azure-" n ".sh")}' README.md
[ -s "$WORK/azure-1.sh" ] && [ -s "$WORK/azure-2.sh" ] || fail "no two sh blocks under '## Azure resource roles' in README.md"
grep -q '^scripts/make-test-ca.sh tls' "$WORK/azure-1.sh" || fail "the Azure section no longer makes its CA with scripts/make-test-ca.sh tls"
SERVE_TLS=$(grep '^cargo run --release -- serve ' "$WORK/azure-1.sh") || fail "the Azure section has no 'cargo run --release -- serve' line"
TLS_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
scripts/make-test-ca.sh tls
eval "${SERVE_TLS//127.0.0.1:8443/127.0.0.1:$TLS_PORT} >\"\$LOG\" 2>&1 &"
SERVER_PID=$!
for _ in $(seq 1 120); do
    command curl -fsS --cacert tls/ca.pem "https://127.0.0.1:$TLS_PORT/healthz" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || fail "the TLS server exited during start"
    sleep 0.5
done
command curl -fsS --cacert tls/ca.pem "https://127.0.0.1:$TLS_PORT/healthz" >/dev/null || fail "/healthz did not answer over HTTPS"
sed -i "s|https://127.0.0.1:8443|https://127.0.0.1:$TLS_PORT|g" "$WORK/azure-2.sh"
set +u
trap 'fail "a README command of the Azure section failed (its output: $(cat "$WORK/azure-2.out"))"' ERR
# shellcheck disable=SC1091
source "$WORK/azure-2.sh" >"$WORK/azure-2.out"
trap - ERR
set -u
[[ "${SUB:-}" =~ ^[0-9a-f-]{36}$ ]] && [[ "${ROLE:-}" =~ ^[0-9a-f-]{36}$ ]] && [[ "${OPS:-}" =~ ^[0-9a-f-]{36}$ ]] \
    || fail "SUB, ROLE or OPS is not a GUID: '${SUB:-}' '${ROLE:-}' '${OPS:-}'"
answer "openpim/azure/subscriptions/$SUB" 201 | jq -e '.displayName == "Production"' >/dev/null \
    || fail "the subscription was not registered"
answer 'elevateAccess' 200 >/dev/null
answer "/subscriptions/$SUB/providers/Microsoft.Authorization/roleAssignments/" 201 \
    | jq -e --arg me "$ME" '.properties.principalId == $me and (.properties.roleDefinitionId | ascii_downcase | endswith("8e3af657-a8ff-443c-a75c-2fe8c4bcb635"))' >/dev/null \
    || fail "the Owner assignment at the subscription was not made"
answer 'resourcegroups/rg-web' 201 | jq -e '.name == "rg-web" and .properties.provisioningState == "Succeeded"' >/dev/null \
    || fail "the resource group was not created"
answer "roleDefinitions/$ROLE?api-version" 201 \
    | jq -e '.properties.type == "CustomRole" and (.properties.permissions[0].notActions | index("Microsoft.Authorization/*/Delete"))
             and .properties.permissions[0].actions == ["*"]' >/dev/null \
    || fail "the custom role copying Contributor was not created as described"
answer "rg-web/providers/Microsoft.Authorization/roleAssignments/" 201 \
    | jq -e --arg ops "$OPS" --arg role "$ROLE" '.properties.principalId == $ops and .properties.principalType == "Group"
             and (.properties.roleDefinitionId | ascii_downcase | endswith($role))' >/dev/null \
    || fail "the custom role was not assigned to the group at the resource group"
answer 'roleAssignments?api-version' 200 \
    | jq -e --arg ops "$OPS" --arg me "$ME" '[.value[].properties.principalId] | index($ops) and index($me)' >/dev/null \
    || fail "the resource group's atScope() list lacks the group's or the Owner's assignment"
echo "   Azure RBAC walkthrough answered as expected"

# The third block: PIM for Azure resources (settings, eligibility, activation, approval), sourced
# in the same shell so it continues with SUB, ROLE, ME and the tokens.
[ -s "$WORK/azure-3.sh" ] || fail "no third sh block (PIM for Azure resources) under '## Azure resource roles'"
sed -i "s|https://127.0.0.1:8443|https://127.0.0.1:$TLS_PORT|g" "$WORK/azure-3.sh"
set +u
trap 'fail "a README command of the Azure PIM block failed (its output: $(cat "$WORK/azure-3.out"))"' ERR
# shellcheck disable=SC1091
source "$WORK/azure-3.sh" >"$WORK/azure-3.out"
trap - ERR
set -u
[[ "${CONTRACTOR:-}" =~ ^[0-9a-f-]{36}$ ]] || fail "CONTRACTOR is not a GUID: '${CONTRACTOR:-}'"
[[ "${POLICY:-}" == /subscriptions/$SUB/providers/Microsoft.Authorization/roleManagementPolicies/* ]] \
    || fail "the policy assignment list did not name the role's policy at the subscription: '${POLICY:-}'"
answer 'roleManagementPolicies/' 200 \
    | jq -e '[.properties.rules[] | select(.id == "Approval_EndUser_Assignment") | .setting.isApprovalRequired] == [true]' \
        >/dev/null || fail "the approval rule was not set on the role's settings"
answer 'roleEligibilityScheduleRequests/' 201 \
    | jq -e --arg who "$CONTRACTOR" '.properties.status == "Provisioned" and .properties.principalId == $who' >/dev/null \
    || fail "the contractor was not made eligible"
answer 'roleAssignmentScheduleRequests/' 201 | jq -e '.properties.status == "PendingApproval"' >/dev/null \
    || fail "the contractor's activation did not wait for approval"
[[ "${APPROVAL:-}" == /providers/Microsoft.Authorization/roleAssignmentApprovals/* ]] \
    || fail "the pending activation named no approval: '${APPROVAL:-}'"
answer '/stages/' 200 | jq -e '.properties.reviewResult == "Approve"' >/dev/null \
    || fail "the approver's decision was not recorded"
answer 'rg-web/providers/Microsoft.Authorization/permissions' 200 \
    | jq -e '[.value[].actions[]] | index("*")' >/dev/null \
    || fail "after approval the contractor's permissions at rg-web lack the custom role's actions"
echo "   Azure PIM walkthrough answered as expected"

kill -TERM "$SERVER_PID"
status=0
wait "$SERVER_PID" || status=$?
SERVER_PID=
[ "$status" = 0 ] || fail "the TLS server exited with status $status after SIGTERM"
echo "== readme-check: OK"
