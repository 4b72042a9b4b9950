#!/usr/bin/env bash
# System packages the test suite needs beyond the Python wheels: Debian's haproxy (to check
# haproxy/haproxy.cfg with `haproxy -c`) and chromium (the browser the web UI tests drive with
# Playwright) and slapd (the real LDAP server the single sign-on tests start on loopback).
# Installed with apt when missing and running as root.
set -euo pipefail
missing=()
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
[ -x "${SUTAZAI_TEST_CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium fonts-dejavu-core)
[ -x /usr/sbin/slapd ] || missing+=(slapd)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing test dependencies: ${missing[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "error: the tests need: ${missing[*]}; install them (sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
