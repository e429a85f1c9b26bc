#!/bin/sh
# System packages the relay's tests need (idempotent): Debian's pebble ACME test server
# (tests/tests/acme.rs expects /usr/bin/pebble), kill(1) for the signal tests, and
# PostgreSQL 15's server (tests/src/postgres.rs runs its own throwaway cluster).
set -eu
need=""
[ -x /usr/bin/pebble ] || need="$need pebble"
command -v kill >/dev/null 2>&1 || need="$need procps"
[ -x /usr/lib/postgresql/15/bin/initdb ] || need="$need postgresql-15"
if [ -n "$need" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need
fi
