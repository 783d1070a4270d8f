#!/bin/sh
# First start of the PostgreSQL container (docker-entrypoint-initdb.d): one role and database
# for the engine's store, one role owning Temporal's two databases. Passwords come from the
# container's environment (deploy/.env), never from this file.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" \
  -v temporal_pw="$TEMPORAL_DB_PASSWORD" -v claims_pw="$CLAIMS_DB_PASSWORD" <<'SQL'
CREATE ROLE temporal LOGIN PASSWORD :'temporal_pw' CREATEDB;
CREATE ROLE claims LOGIN PASSWORD :'claims_pw';
CREATE DATABASE claims OWNER claims ENCODING 'UTF8' TEMPLATE template0;
SQL
