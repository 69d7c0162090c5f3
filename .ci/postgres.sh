#!/usr/bin/env bash
# Start a PostgreSQL server from Debian's packages for the ledger tests and print the URL to export as
# QINGSHAN_TEST_PG_URL (the only line on stdout; progress goes to stderr):
#
#     export QINGSHAN_TEST_PG_URL="$(bash .ci/postgres.sh)"
#
# Idempotent: installs the `postgresql` package only if it is missing, creates a cluster only if there is none,
# starts it only if it is down, and creates the role and the database only if they do not exist (the password is
# reset each time). Works as root (CI) or through sudo; tested on Debian 12 (PostgreSQL 15).
# Settings (environment): QINGSHAN_PG_USER (qingshan), QINGSHAN_PG_PASSWORD (qingshan-test),
# QINGSHAN_PG_DB (qingshan_test), QINGSHAN_PG_PORT (5432).
set -euo pipefail

PG_USER="${QINGSHAN_PG_USER:-qingshan}"
PG_PASSWORD="${QINGSHAN_PG_PASSWORD:-qingshan-test}"
PG_DB="${QINGSHAN_PG_DB:-qingshan_test}"
PG_PORT="${QINGSHAN_PG_PORT:-5432}"

log() { printf '[postgres.sh] %s\n' "$*" >&2; }

if [ "$(id -u)" -eq 0 ]; then SUDO=(); elif command -v sudo >/dev/null 2>&1; then SUDO=(sudo); else
  log "needs root (or sudo) to install and start PostgreSQL"; exit 1
fi

case "$PG_USER$PG_DB" in *[!A-Za-z0-9_]*) log "QINGSHAN_PG_USER/QINGSHAN_PG_DB: letters, digits and _ only"; exit 1;; esac

if ! dpkg -s postgresql >/dev/null 2>&1 || ! command -v pg_ctlcluster >/dev/null 2>&1; then
  log "installing postgresql (Debian package)"
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update >&2
  "${SUDO[@]}" apt-get install -y --no-install-recommends postgresql >&2
fi

VERSION="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
if [ -z "$VERSION" ]; then log "no PostgreSQL server found under /usr/lib/postgresql"; exit 1; fi

CLUSTER="$(pg_lsclusters -h 2>/dev/null | awk -v v="$VERSION" '$1 == v {print $2; exit}')"
if [ -z "$CLUSTER" ]; then
  CLUSTER=main
  log "creating cluster $VERSION/$CLUSTER on port $PG_PORT"
  "${SUDO[@]}" pg_createcluster "$VERSION" "$CLUSTER" --port "$PG_PORT" >&2
fi
PORT="$(pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1 == v && $2 == c {print $3}')"
STATUS="$(pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1 == v && $2 == c {print $4}')"
if [ "$STATUS" != "online" ]; then
  log "starting cluster $VERSION/$CLUSTER (port $PORT)"
  "${SUDO[@]}" pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
fi

for _ in $(seq 1 60); do
  if pg_isready -q -h localhost -p "$PORT"; then break; fi
  sleep 1
done
pg_isready -h localhost -p "$PORT" >&2 || { log "server did not become ready"; exit 1; }

psql_admin() { (cd / && "${SUDO[@]}" runuser -u postgres -- psql -p "$PORT" -v ON_ERROR_STOP=1 -qAt "$@"); }

PASS_SQL="${PG_PASSWORD//\'/\'\'}"
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER'")" != "1" ]; then
  log "creating role $PG_USER"
  psql_admin -c "CREATE ROLE \"$PG_USER\" LOGIN PASSWORD '$PASS_SQL'"
else
  psql_admin -c "ALTER ROLE \"$PG_USER\" LOGIN PASSWORD '$PASS_SQL'"
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != "1" ]; then
  log "creating database $PG_DB"
  psql_admin -c "CREATE DATABASE \"$PG_DB\" OWNER \"$PG_USER\" ENCODING 'UTF8' TEMPLATE template0"
fi

ENC_PASSWORD="$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$PG_PASSWORD" 2>/dev/null || printf '%s' "$PG_PASSWORD")"
URL="postgresql+psycopg://$PG_USER:$ENC_PASSWORD@localhost:$PORT/$PG_DB"
log "ready: export QINGSHAN_TEST_PG_URL=$URL"
printf '%s\n' "$URL"
