#!/usr/bin/env bash
# A throwaway PostgreSQL server for the store's contract tests.
#
#   scripts/postgres.sh start   # install if needed, init, start, create the test DB, print its URL
#   scripts/postgres.sh stop    # stop the server (the cluster stays on disk for the next start)
#
# Settings: PGDIR (default ~/.cache/hyperpipe-pg), PGPORT (default 55432).
# initdb and postgres refuse to run as root, so as root the server runs as user `postgres`.
# It is a test server: trust authentication, fsync off, listening on 127.0.0.1 only.
set -euo pipefail

PGDIR=${PGDIR:-$HOME/.cache/hyperpipe-pg}
PGPORT=${PGPORT:-55432}
DBNAME=hyperpipe_test
URL="postgresql+psycopg://postgres@127.0.0.1:${PGPORT}/${DBNAME}"

log() { echo "postgres.sh: $*" >&2; }

find_bin() {
    # Debian keeps the server tools out of PATH, under /usr/lib/postgresql/<major>/bin.
    local dir
    dir=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -1)
    if [[ -n "$dir" && -x "$dir/initdb" ]]; then
        echo "$dir"
    elif command -v initdb >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v initdb)")"
    fi
}

install_postgres() {
    log "initdb not found; installing PostgreSQL from Debian packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
}

# Run a command as the server's owner (root may not run initdb/postgres).
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
    else
        "$@"
    fi
}

pg_ctl_() { as_owner "$BIN/pg_ctl" -D "$PGDIR/data" "$@"; }

stop_server() {
    if [[ -f "$PGDIR/data/PG_VERSION" ]] && pg_ctl_ status >/dev/null 2>&1; then
        log "stopping the server in $PGDIR/data"
        pg_ctl_ -m fast -w -t 60 stop >/dev/null
    fi
}

start() {
    BIN=$(find_bin)
    if [[ -z "$BIN" ]]; then
        install_postgres
        BIN=$(find_bin)
        [[ -n "$BIN" ]] || { log "PostgreSQL installed but initdb not found"; exit 1; }
    fi

    mkdir -p "$PGDIR"
    if [[ $(id -u) -eq 0 ]]; then
        chown postgres: "$PGDIR"
        # The server runs as `postgres`, which must be able to reach PGDIR: under /root (mode 700)
        # it cannot, so give the parent directories search (x) permission, nothing more.
        if ! su postgres -s /bin/sh -c "test -w $(printf '%q' "$PGDIR")"; then
            local d=$PGDIR
            while [[ "$d" != "/" ]]; do
                d=$(dirname "$d")
                if ! su postgres -s /bin/sh -c "test -x $(printf '%q' "$d")"; then
                    log "granting search permission on $d so that user postgres reaches $PGDIR"
                    chmod o+x "$d"
                fi
            done
        fi
    fi

    if [[ ! -f "$PGDIR/data/PG_VERSION" ]]; then
        log "initialising a cluster in $PGDIR/data"
        as_owner "$BIN/initdb" -D "$PGDIR/data" -U postgres --auth=trust -E UTF8 --no-locale \
            >"$PGDIR/initdb.log"
    fi

    # A leftover server on this cluster (an earlier start, a killed CI job) would make start fail.
    stop_server

    log "starting on 127.0.0.1:$PGPORT"
    if ! pg_ctl_ -l "$PGDIR/pg.log" -w -t 60 start \
        -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGDIR -c fsync=off" >/dev/null; then
        log "start failed; last lines of $PGDIR/pg.log:"
        tail -20 "$PGDIR/pg.log" >&2 || true
        exit 1
    fi

    local exists
    exists=$(as_owner "$BIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$DBNAME'")
    if [[ "$exists" != "1" ]]; then
        as_owner "$BIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -qc \
            "CREATE DATABASE $DBNAME"
    fi
    echo "$URL"
}

stop() {
    BIN=$(find_bin)
    [[ -n "$BIN" ]] || { log "PostgreSQL is not installed; nothing to stop"; return 0; }
    stop_server
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *)
        echo "usage: $0 start|stop" >&2
        exit 2
        ;;
esac
