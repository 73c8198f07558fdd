#!/bin/sh
# One PostgreSQL backup of LedgerBridge: `pg_dump` in custom format (-Fc: compressed, restorable
# table by table, in parallel with `pg_restore -j`), written atomically, checked, then old dumps
# pruned. Run by deploy/systemd/ledgerbridge-backup.{service,timer}; the restore runbook is in
# deploy/README.md ("Backups and restore").
#
#   DATABASE_URL              the database to dump (from /etc/ledgerbridge/env)
#   BACKUP_DIR                where dumps go (default /srv/ledgerbridge/backups)
#   BACKUP_RETENTION_DAYS     dumps older than this are deleted (default 14)
set -eu

: "${DATABASE_URL:?DATABASE_URL is not set}"
dir="${BACKUP_DIR:-/srv/ledgerbridge/backups}"
keep="${BACKUP_RETENTION_DAYS:-14}"
case "$keep" in '' | *[!0-9]*) echo "BACKUP_RETENTION_DAYS must be a number of days" >&2; exit 2 ;; esac

umask 077
mkdir -p "$dir"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
final="$dir/ledgerbridge-$stamp.dump"
partial="$final.partial"
trap 'rm -f "$partial"' EXIT

# libpq reads the URL (postgres:// or postgresql://), password included: nothing on the command line.
pg_dump --format=custom --compress=6 --no-owner --no-privileges --dbname="$DATABASE_URL" --file="$partial"
# A dump that cannot be listed cannot be restored: fail the unit (and its alert) now, not on restore day.
pg_restore --list "$partial" >/dev/null
mv "$partial" "$final"
trap - EXIT
echo "backup written: $final ($(du -h "$final" | cut -f1))"

# Retention: only our own completed dumps, only after a new one succeeded.
find "$dir" -maxdepth 1 -type f -name 'ledgerbridge-*.dump' -mtime +"$keep" -print -delete
