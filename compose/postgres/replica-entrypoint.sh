#!/bin/sh
# Streaming replica: clone the primary on first start, then follow it as a hot standby.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  echo "replica: cloning postgres-primary"
  mkdir -p "$PGDATA" && chmod 0700 "$PGDATA"
  until PGPASSWORD="$REPLICATION_PASSWORD" pg_basebackup -h postgres-primary -U replicator \
      -D "$PGDATA" -X stream -R -S replica_1 -P; do
    echo "replica: primary not ready, retrying"; rm -rf "${PGDATA:?}"/*; sleep 3
  done
fi
exec postgres -c hot_standby=on
