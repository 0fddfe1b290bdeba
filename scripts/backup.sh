#!/usr/bin/env bash
# Backs up Schakel's PostgreSQL database into one file in pg_dump's custom format (-Fc):
# compressed, checked by pg_restore --list before it is kept, and consistent as of one snapshot
# taken at the start, while Schakel keeps serving (pg_dump reads in a repeatable-read transaction).
# It holds everything: resources, history, search index, access tables, the audit log with its
# month partitions, the event outbox and subscription state.
#
# Usage: scripts/backup.sh [FILE]         default FILE: schakel-<UTC time>.dump in the current folder
# The database: DATABASE_URL, or DATABASE_URL_FILE (a file holding it, as the server reads it).
# PG_BIN: folder of the pg_dump to use (it must be of the server's major version or newer);
# default the newest /usr/lib/postgresql/*/bin, else pg_dump on PATH.
# Restore with scripts/restore.sh (docs/operations.md, "Backup and restore").
set -euo pipefail

# shellcheck source=scripts/postgres-client.sh
source "$(dirname "$0")/postgres-client.sh"

URL=$(database_url "the PostgreSQL database of Schakel")
FILE=${1:-schakel-$(date -u +%Y%m%dT%H%M%SZ).dump}
PARTIAL="$FILE.partial"
trap 'rm -f "$PARTIAL"' EXIT

# Only the owner may read the dump: it holds patient data.
umask 077
"$(pg_tool pg_dump)" --format=custom --compress=6 --no-password --file="$PARTIAL" --dbname="$URL"
# A file pg_restore cannot read is no backup: check it before it replaces anything.
"$(pg_tool pg_restore)" --list "$PARTIAL" >/dev/null
mv "$PARTIAL" "$FILE"
trap - EXIT
echo "backup written: $FILE ($(wc -c <"$FILE") bytes)"
