#!/bin/sh
# Creates (or upgrades) Temporal's two Postgres databases: run by the
# temporal-schema service of docker-compose.yml from temporalio/admin-tools,
# whose /etc/temporal/schema matches the server version. Safe to run on every
# start: create skips existing databases, setup-schema skips a versioned
# schema, update-schema only applies newer versions.
# Connection: SQL_PLUGIN, SQL_HOST, SQL_PORT, SQL_USER, SQL_PASSWORD.
set -eu

schema=${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema}/postgresql/v12
for pair in "${TEMPORAL_DB:-temporal}:temporal" "${TEMPORAL_VISIBILITY_DB:-temporal_visibility}:visibility"; do
  db=${pair%%:*}
  dir=${pair#*:}
  echo "temporal-schema: database $db ($dir schema)"
  temporal-sql-tool --db "$db" create
  temporal-sql-tool --db "$db" setup-schema -v 0.0
  temporal-sql-tool --db "$db" update-schema -d "$schema/$dir/versioned"
done
echo "temporal-schema: done"
