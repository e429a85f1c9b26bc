#!/bin/sh
# System packages the relay's tests need (idempotent): Debian's pebble ACME test server
# (tests/tests/acme.rs expects /usr/bin/pebble) and kill(1) for the signal tests.
set -eu
need=""
[ -x /usr/bin/pebble ] || need="$need pebble"
command -v kill >/dev/null 2>&1 || need="$need procps"
if [ -n "$need" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need
fi
