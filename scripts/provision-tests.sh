#!/usr/bin/env bash
# What the test suite needs from the machine besides node_modules, on Debian (the machines it runs
# on, CI's included): Debian's chromium, which the browser tests drive with playwright-core (no
# browser download); redis-server, which the Redis tests start on free loopback ports; openssl, for
# throwaway certificates; haproxy, the load balancer in front of the fleet test; PostgreSQL on
# 127.0.0.1:5432 (trust auth for user postgres), where the store tests create and drop their own
# databases (PORTCULLIS_TEST_POSTGRES names another server).
# As root it installs what is missing with apt-get; otherwise it names, in one line, the command
# that does, and fails. It starts the PostgreSQL cluster when it is not running. With everything
# there it only checks, so `npm test` (scripts/run-tests.mjs) and .ci/run both run it every time.
set -euo pipefail

chromium="${PORTCULLIS_CHROMIUM:-/usr/bin/chromium}"
missing=()
[ -x "$chromium" ] || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
postgres="${PORTCULLIS_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432}"
if [ -z "${PORTCULLIS_TEST_POSTGRES:-}" ]; then
  command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
else
  command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
fi

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
postgres_answers() { psql "$postgres/postgres" -Atqc 'SELECT 1' >/dev/null 2>&1; }
if ! postgres_answers && [ -z "${PORTCULLIS_TEST_POSTGRES:-}" ]; then
  version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$version" ]; then
    echo "provision-tests: PostgreSQL is installed but has no cluster in /etc/postgresql — create one with: pg_createcluster --start 15 main" >&2
    exit 1
  fi
  echo "provision-tests: starting PostgreSQL $version (pg_ctlcluster)"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 50); do postgres_answers && break; sleep 0.2; done
fi
if ! postgres_answers; then
  echo "provision-tests: PostgreSQL does not answer at $postgres as a superuser without a password — start it, allow trust auth for user postgres on 127.0.0.1 (pg_hba.conf), or set PORTCULLIS_TEST_POSTGRES=postgres://user@host:port of a server the tests may create databases on" >&2
  exit 1
fi
echo "provision-tests: $("$chromium" --version 2>/dev/null), $(redis-server --version | cut -d' ' -f1-3), $(openssl version | cut -d' ' -f1-2), $(psql "$postgres/postgres" -Atqc 'SHOW server_version' | sed 's/^/PostgreSQL /; s/ (.*//'), $(haproxy -v | head -1 | cut -d' ' -f1-3)"
