# Shared by scripts/backup.sh and scripts/restore.sh (sourced, not run): where the database is and
# where the PostgreSQL client tools are.

# The database URL from DATABASE_URL or DATABASE_URL_FILE; $1 says what the database is for.
database_url() {
  if [ -n "${DATABASE_URL_FILE:-}" ]; then
    [ -z "${DATABASE_URL:-}" ] || { echo "DATABASE_URL and DATABASE_URL_FILE are both set; set one" >&2; exit 2; }
    # Like the server (src/config/secret-files.ts): one trailing line break dropped.
    local url
    url=$(cat "$DATABASE_URL_FILE") || { echo "DATABASE_URL_FILE: cannot read $DATABASE_URL_FILE" >&2; exit 2; }
    printf '%s' "$url"
  elif [ -n "${DATABASE_URL:-}" ]; then
    printf '%s' "$DATABASE_URL"
  else
    echo "set DATABASE_URL or DATABASE_URL_FILE ($1)" >&2
    exit 2
  fi
}

pg_tool() {
  local dir
  if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN/$1"; return; fi
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$dir/$1" ] && { echo "$dir/$1"; return; }
  done
  command -v "$1" || { echo "$1 not found: install the PostgreSQL client or set PG_BIN" >&2; exit 2; }
}
