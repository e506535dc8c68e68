#!/usr/bin/env bash
# What the test suite needs from the machine besides node_modules, on Debian (the machines it runs
# on, CI's included): Debian's chromium, which the browser tests drive with playwright-core (no
# browser download); redis-server, which the Redis tests start on free loopback ports; openssl, for
# throwaway certificates; haproxy, the load balancer in front of the fleet test. As root it
# installs what is missing with apt-get; otherwise it names, in
# one line, the command that does, and fails. With everything there it only checks, so `npm test`
# (scripts/run-tests.mjs) and .ci/run both run it every time.
set -euo pipefail

chromium="${PORTCULLIS_CHROMIUM:-/usr/bin/chromium}"
missing=()
[ -x "$chromium" ] || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "provision-tests: the tests need ${missing[*]}: run 'sudo bash scripts/provision-tests.sh' (Debian's packages), or install them yourself" >&2
    exit 1
  fi
  echo "provision-tests: installing Debian's ${missing[*]} (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x "$chromium" ]; then
  echo "provision-tests: PORTCULLIS_CHROMIUM=$chromium is not an executable; unset it to use Debian's /usr/bin/chromium" >&2
  exit 1
fi
echo "provision-tests: $("$chromium" --version 2>/dev/null), $(redis-server --version | cut -d' ' -f1-3), $(openssl version | cut -d' ' -f1-2), $(haproxy -v | head -1 | cut -d' ' -f1-3)"
