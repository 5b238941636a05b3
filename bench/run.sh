#!/usr/bin/env bash
# OpenPIM's HTTP benchmark in one go: machine ceilings (hyper hello-world, raw SQLite fsync loop),
# access checks over HTTP at 1 and 64 connections, durable selfActivate throughput, the scale run
# on the large workload, access-history queries on it (issue #21), part A's in-process benchmark and its Azure RBAC counterpart (`azure-check`,
# issue #15); then a Markdown table of every figure beside its ceiling, the ratio and the target.
# Raw JSON goes to bench/results/ (git-ignored).
#
#   ./bench/run.sh                 full run (release build; the large workload: 1M users)
#   ./bench/run.sh --scale-size N  full run, scale step on N users instead of 1M
#   ./bench/run.sh --smoke         CI smoke: dev build, small workload, ~1 s per step, no timing
#                                  assertions (only that every step runs and answers correctly)
#   ./bench/run.sh --server-bin P  measure another build of the `openpim` binary (e.g. an earlier
#                                  commit's, to compare before/after) with this tree's load tools
#   ./bench/run.sh --azure-only    only the in-process Azure RBAC step (with --smoke: small workload)
#   ./bench/run.sh --growth        only the growth curve: seed 100k, 300k and 1M users and run the
#                                  scale step on each (cold start, RSS, list and access-check
#                                  latency); OPENPIM_BENCH_GROWTH="N1 N2 ..." sets the sizes. Manual
#                                  (the seeds alone take minutes); with --smoke: 300 and 1000 users
set -euo pipefail
cd "$(dirname "$0")/.."

SMOKE=0
SCALE_SIZE=large
SERVER_BIN=
AZURE_ONLY=0
GROWTH=0
while [ $# -gt 0 ]; do
    case "$1" in
        --smoke) SMOKE=1 ;;
        --scale-size) SCALE_SIZE="$2"; shift ;;
        --server-bin) SERVER_BIN="$(realpath "$2")"; shift ;;
        --azure-only) AZURE_ONLY=1 ;;
        --growth) GROWTH=1 ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 64 ;;
    esac
    shift
done

PACKAGES=(-p openpim-loadgen -p openpim-cli -p openpim-bench)
[ "$AZURE_ONLY" = 1 ] && PACKAGES=(-p openpim-bench)
if [ "$SMOKE" = 1 ]; then
    # The test suite already built these in the dev profile; reuse it to save CI minutes.
    cargo build -q "${PACKAGES[@]}"
    BIN="$(scripts/target-dir.sh)/debug"
    DURATION=1s; WARMUP=300ms; FSYNC=1s; ACTIVATIONS=200; CHECK_URLS=2000; SCALE_SIZE=small; SAMPLES=100
    export OPENPIM_BENCH_SMOKE=1
else
    cargo build -q --release "${PACKAGES[@]}"
    BIN="$(scripts/target-dir.sh)/release"
    DURATION=10s; WARMUP=2s; FSYNC=5s; ACTIVATIONS=5000; CHECK_URLS=20000; SAMPLES=1000
fi
LOADGEN="$BIN/openpim-loadgen"
OPENPIM="${SERVER_BIN:-$BIN/openpim}"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/openpim-bench.XXXXXX")
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS="bench/results/$STAMP$([ "$SMOKE" = 1 ] && echo -smoke || true)"
mkdir -p "$RESULTS"
PIDS=()
FAILED=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    cp "$WORK"/*.log "$RESULTS/" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

step() { echo "== $*" >&2; }

# A measurement that answered wrongly (failed requests) is reported and the run goes on, so one
# run shows every figure; the script still exits non-zero at the end.
measure() { # NAME OUTPUT COMMAND...
    local name="$1" out="$2"; shift 2
    if ! "$@" > "$out"; then
        echo "!! $name: failed (see $out)" >&2
        FAILED+=("$name")
    fi
}

# A port nobody listens on (the kernel's ephemeral range is avoided).
free_port() {
    local p
    for _ in $(seq 1 100); do
        p=$((20000 + RANDOM % 20000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
    done
    echo "no free port found" >&2; return 1
}

wait_healthy() { # URL PID
    for _ in $(seq 1 6000); do
        curl -fsS -o /dev/null "$1/healthz" 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || { echo "server exited before it was healthy" >&2; return 1; }
        sleep 0.05
    done
    echo "server not healthy after 5 minutes" >&2; return 1
}

{
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') ($(nproc) cores)"
    echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "disk: $(df -h "$WORK" | awk 'NR==2 {print $1" "$2}')"
    echo "kernel: $(uname -r)"
    echo "mode: $([ "$SMOKE" = 1 ] && echo smoke || echo full)"
    echo "git: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
} > "$RESULTS/machine.txt"

azure_step() {
    step "Azure RBAC: in-process access checks at ARM scopes vs casbin-rs and cedar-policy ($([ "$SMOKE" = 1 ] && echo small || echo "${OPENPIM_BENCH_AZURE_SIZE:-large}") workload)"
    measure "azure in-process" "$RESULTS/azure-inprocess.json" "$BIN/azure-check"
}

finish() {
    python3 bench/table.py "$RESULTS" | tee "$RESULTS/table.md"
    echo "raw results: $RESULTS" >&2
    if [ ${#FAILED[@]} -gt 0 ]; then
        echo "FAILED: ${FAILED[*]}" >&2
        exit 1
    fi
}

if [ "$GROWTH" = 1 ]; then
    SIZES="${OPENPIM_BENCH_GROWTH:-$([ "$SMOKE" = 1 ] && echo "300 1000" || echo "100000 300000 1000000")}"
    for n in $SIZES; do
        step "growth: seed $n users"
        rm -rf "$WORK/growth"
        "$LOADGEN" seed --data "$WORK/growth" --size "$n" > "$RESULTS/seed-growth-$n.json"
        step "growth: scale step on $n users"
        measure "growth $n" "$RESULTS/growth-$n.json" \
            "$LOADGEN" scale --data "$WORK/growth" --binary "$OPENPIM" --samples $SAMPLES
    done
    rm -rf "$WORK/growth"
    finish
    exit 0
fi

if [ "$AZURE_ONLY" = 1 ]; then
    azure_step
    finish
    exit 0
fi

step "ceiling: hyper hello-world server"
"$LOADGEN" hello-server --listen 127.0.0.1:0 > "$WORK/hello.out" &
HELLO=$!; PIDS+=("$HELLO")
for _ in $(seq 1 600); do grep -q listening "$WORK/hello.out" 2>/dev/null && break; sleep 0.05; done
HELLO_ADDR=$(sed -n 's/.*"listening":"\([^"]*\)".*/\1/p' "$WORK/hello.out")
[ -n "$HELLO_ADDR" ] || { echo "hello-server did not start" >&2; exit 1; }
for c in 1 64; do
    measure "hello-world c$c" "$RESULTS/hello-c$c.json" \
        "$LOADGEN" http --url "http://$HELLO_ADDR/" --connections $c --duration $DURATION --warmup $WARMUP
done
kill "$HELLO"; wait "$HELLO" 2>/dev/null || true

step "ceiling: SQLite BEGIN/INSERT/COMMIT loop, WAL, synchronous=FULL"
"$LOADGEN" sqlite-fsync --dir "$WORK/fsync" --duration $FSYNC > "$RESULTS/sqlite-fsync.json"

step "seed: small workload"
"$LOADGEN" seed --data "$WORK/small" --size small > "$RESULTS/seed-small.json"

step "openpim serve on the small workload"
PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
OPENPIM_LOG=warn "$OPENPIM" serve --data "$WORK/small" --listen "127.0.0.1:$PORT" > "$WORK/serve.log" 2>&1 &
SERVE=$!; PIDS+=("$SERVE")
wait_healthy "$URL" "$SERVE"
TOKEN=$("$OPENPIM" token --data "$WORK/small" --user admin@openpim.local --mfa --ttl 2h)
"$LOADGEN" check-urls --size small --base "$URL" --count $CHECK_URLS > "$WORK/check-urls.txt"

step "access checks over HTTP (the workload's query mix, principalId with an admin token)"
for c in 1 64; do
    measure "access checks c$c" "$RESULTS/check-c$c.json" \
        "$LOADGEN" http --url-file "$WORK/check-urls.txt" --connections $c --duration $DURATION --warmup $WARMUP \
        --header "Authorization: Bearer $TOKEN"
done

step "selfActivate: $ACTIVATIONS distinct eligibilities, 64 connections"
measure selfActivate "$RESULTS/activate.json" \
    "$LOADGEN" activate --url "$URL" --data "$WORK/small" --connections 64 --count $ACTIVATIONS
kill "$SERVE"; wait "$SERVE" 2>/dev/null || true

if [ "$SCALE_SIZE" = small ]; then
    SCALE_DIR="$WORK/small"
else
    step "seed: $SCALE_SIZE workload"
    SCALE_DIR="$WORK/scale"
    "$LOADGEN" seed --data "$SCALE_DIR" --size "$SCALE_SIZE" > "$RESULTS/seed-scale.json"
fi
step "scale: cold start, RSS, filtered list page"
measure scale "$RESULTS/scale.json" "$LOADGEN" scale --data "$SCALE_DIR" --binary "$OPENPIM" --samples $SAMPLES

step "access history: accessHistory and accessCheck?at= for the query mix's principals, 30 days back"
PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
OPENPIM_LOG=warn "$OPENPIM" serve --data "$SCALE_DIR" --listen "127.0.0.1:$PORT" > "$WORK/serve-history.log" 2>&1 &
SERVE=$!; PIDS+=("$SERVE")
wait_healthy "$URL" "$SERVE"
TOKEN=$("$OPENPIM" token --data "$SCALE_DIR" --user admin@openpim.local --mfa --ttl 2h)
for kind in history check-at; do
    "$LOADGEN" history-urls --size "$SCALE_SIZE" --base "$URL" --count $CHECK_URLS --kind $kind \
        > "$WORK/$kind-urls.txt"
    for c in 1 64; do
        measure "$kind c$c" "$RESULTS/$kind-c$c.json" \
            "$LOADGEN" http --url-file "$WORK/$kind-urls.txt" --connections $c --duration $DURATION --warmup $WARMUP \
            --header "Authorization: Bearer $TOKEN"
    done
done
kill "$SERVE"; wait "$SERVE" 2>/dev/null || true

step "part A: in-process access checks vs casbin-rs and cedar-policy (openpim-bench)"
"$BIN/access-check" > "$RESULTS/inprocess.json"
azure_step
finish
