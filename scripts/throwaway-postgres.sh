#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server on a free loopback port and prints its DATABASE_URL.
# Usage: eval "$(scripts/throwaway-postgres.sh start)"   ->  sets DATABASE_URL and PG_THROWAWAY_DIR
#        scripts/throwaway-postgres.sh stop "$PG_THROWAWAY_DIR"
# initdb refuses to run as root, so as root the server runs as the postgres user.
set -euo pipefail

pg_bin() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r) ; do
    [ -x "$dir/initdb" ] && { echo "$dir"; return; }
  done
  command -v initdb >/dev/null && { dirname "$(command -v initdb)"; return; }
  echo "no PostgreSQL server binaries (initdb, pg_ctl) found" >&2
  exit 1
}

as_owner() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

case "${1:-}" in
  start)
    BIN=$(pg_bin)
    DIR=$(mktemp -d /tmp/schakel-pg-XXXXXX)
    chmod 755 "$DIR"
    [ "$(id -u)" = "0" ] && chown postgres "$DIR"
    as_owner "$BIN/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 --no-locale >"$DIR/initdb.log" 2>&1
    PORT=$(free_port)
    as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
      -o "-p $PORT -c listen_addresses=127.0.0.1 -k $DIR -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
    echo "export DATABASE_URL=postgres://postgres@127.0.0.1:$PORT/postgres PG_THROWAWAY_DIR=$DIR"
    ;;
  stop)
    DIR=${2:?directory}
    BIN=$(pg_bin)
    as_owner "$BIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$DIR"
    ;;
  *)
    echo "usage: $0 start | stop DIR" >&2
    exit 2
    ;;
esac
