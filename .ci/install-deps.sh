#!/bin/sh
# System packages the tests need (idempotent): Debian's pebble ACME test server
# (tests/tests/acme.rs expects /usr/bin/pebble), kill(1) for the signal tests, PostgreSQL 15's
# server (tests/src/postgres.rs runs its own throwaway cluster), and chromium plus node/npm for
# the web inspector's browser test (tests/tests/inspector_browser.rs), whose playwright-core is
# installed from tests/browser/package-lock.json.
set -eu
cd "$(dirname "$0")/.."
need=""
[ -x /usr/bin/pebble ] || need="$need pebble"
command -v kill >/dev/null 2>&1 || need="$need procps"
[ -x /usr/bin/chromium ] || need="$need chromium"
command -v node >/dev/null 2>&1 || need="$need nodejs"
command -v npm >/dev/null 2>&1 || need="$need npm"
[ -x /usr/lib/postgresql/15/bin/initdb ] || need="$need postgresql-15"
if [ -n "$need" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need
fi
# npm ci reinstalls from the lockfile; skip it when the pinned version is already there.
want=$(sed -n 's/.*"playwright-core": "\(.*\)".*/\1/p' tests/browser/package.json | head -1)
have=$(sed -n 's/.*"version": "\(.*\)".*/\1/p' tests/browser/node_modules/playwright-core/package.json 2>/dev/null | head -1 || true)
if [ "$want" != "$have" ]; then
    (cd tests/browser && npm ci --no-audit --no-fund)
fi
