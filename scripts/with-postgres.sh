#!/usr/bin/env bash
# Runs CMD with a throwaway PostgreSQL cluster on 127.0.0.1 and GRIDWALK_TEST_PG_URL pointing at
# a fresh database in it; stops and deletes the cluster afterwards, however CMD ends.
#
#   scripts/with-postgres.sh cargo test --workspace
#
# Needs the PostgreSQL server binaries (Debian: apt-get install -y postgresql). As root the cluster
# runs as the `postgres` user. Without PostgreSQL the command still runs and the PostgreSQL tests
# print "SKIPPED: ..." lines — unless CI is set, in which case this script fails.
set -euo pipefail

if [ $# -lt 1 ]; then
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 2
fi

PG_BIN="${PG_BIN:-}"
if [ -z "$PG_BIN" ]; then
    PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
fi
if [ -z "$PG_BIN" ] && command -v initdb >/dev/null 2>&1; then
    PG_BIN="$(dirname "$(command -v initdb)")"
fi
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
    echo "with-postgres: PostgreSQL server binaries not found (set PG_BIN or apt-get install -y postgresql)" >&2
    if [ -n "${CI:-}" ]; then
        echo "with-postgres: CI is set: refusing to run without PostgreSQL" >&2
        exit 1
    fi
    echo "with-postgres: SKIPPED: PostgreSQL — running the command without GRIDWALK_TEST_PG_URL" >&2
    unset GRIDWALK_TEST_PG_URL
    exec "$@"
fi

free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
    else
        echo $(( 20000 + RANDOM % 30000 ))
    fi
}

TMP="$(mktemp -d "${TMPDIR:-/tmp}/gridwalk-pg.XXXXXX")"
PORT="$(free_port)"
PASSWORD="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"

as_pg() {
    if [ "$(id -u)" = 0 ]; then
        (cd "$TMP" && runuser -u postgres -- "$@")
    else
        (cd "$TMP" && "$@")
    fi
}

if [ "$(id -u)" = 0 ]; then
    chown postgres: "$TMP"
fi

cleanup() {
    as_pg "$PG_BIN/pg_ctl" -D "$TMP/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

as_pg "$PG_BIN/initdb" -D "$TMP/data" -U gwadmin --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --no-locale >"$TMP/initdb.log" 2>&1 \
    || { cat "$TMP/initdb.log" >&2; exit 1; }
as_pg "$PG_BIN/pg_ctl" -D "$TMP/data" -l "$TMP/postgres.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $TMP ${PG_EXTRA_OPTS:-}" start >/dev/null \
    || { cat "$TMP/postgres.log" >&2; exit 1; }
as_pg "$PG_BIN/psql" -h "$TMP" -p "$PORT" -U gwadmin -d postgres -q -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE gridwalk LOGIN PASSWORD '$PASSWORD'" \
    -c "CREATE DATABASE gridwalk_test OWNER gridwalk" >/dev/null

export GRIDWALK_TEST_PG_URL="postgres://gridwalk:$PASSWORD@127.0.0.1:$PORT/gridwalk_test"
echo "with-postgres: PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT" >&2

set +e
"$@"
status=$?
set -e
exit "$status"
