#!/usr/bin/env bash
# Restores a backup of scripts/backup.sh into an EMPTY PostgreSQL database, all or nothing (one
# transaction: on any error nothing is left behind). Start Schakel on it afterwards: the schema is
# already at the backup's migration level, and newer migrations are applied at start as usual.
#
# Usage: scripts/restore.sh FILE
# The target: DATABASE_URL or DATABASE_URL_FILE. Create it first (createdb, or CREATE DATABASE),
# owned by the user Schakel connects as. A database that already holds tables is refused:
# restoring over live data would mix two histories.
# Ownership and grants of the backed-up server are not restored (--no-owner --no-acl): the
# objects belong to the restoring user, which is the user Schakel connects as.
# PG_BIN: folder of pg_restore and psql; default the newest /usr/lib/postgresql/*/bin, else PATH.
set -euo pipefail

# shellcheck source=scripts/postgres-client.sh
source "$(dirname "$0")/postgres-client.sh"

FILE=${1:?usage: scripts/restore.sh FILE}
[ -r "$FILE" ] || { echo "cannot read $FILE" >&2; exit 2; }
URL=$(database_url "the empty database to restore into")

TABLES=$("$(pg_tool psql)" --no-psqlrc --no-password --tuples-only --no-align --dbname="$URL" \
  --command="SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = 'public'")
if [ "$TABLES" != "0" ]; then
  echo "the target database already has $TABLES tables: restore only into an empty database" >&2
  exit 3
fi

"$(pg_tool pg_restore)" --no-owner --no-acl --single-transaction --exit-on-error --no-password \
  --dbname="$URL" "$FILE"
echo "restored $FILE"
