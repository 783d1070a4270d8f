#!/bin/sh
# Temporal's schemas on PostgreSQL 12+ (plugin postgres12): the persistence database and the
# visibility database (advanced visibility on SQL: custom search attributes and List/Count
# queries without Elasticsearch). Runs in the temporalio/admin-tools image before the server
# starts; `create` fails harmlessly when the database exists, and `update-schema` brings an
# existing schema up to the image's version (run it again after upgrading the server image).
set -eu
: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
port="${DB_PORT:-5432}"
tool() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$port" -u "$POSTGRES_USER" "$@"; }
for db in temporal temporal_visibility; do
  tool --db "$db" create || echo "database $db exists"
done
schema=/etc/temporal/schema/postgresql/v12
if ! tool --db temporal update-schema -d "$schema/temporal/versioned" 2>/dev/null; then
  tool --db temporal setup-schema -v 0.0
  tool --db temporal update-schema -d "$schema/temporal/versioned"
fi
if ! tool --db temporal_visibility update-schema -d "$schema/visibility/versioned" 2>/dev/null; then
  tool --db temporal_visibility setup-schema -v 0.0
  tool --db temporal_visibility update-schema -d "$schema/visibility/versioned"
fi
echo "Temporal schemas at the image's version"
