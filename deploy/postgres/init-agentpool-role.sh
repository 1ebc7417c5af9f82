#!/bin/sh
# Runs once, when the postgres container initialises an empty data volume (the image runs
# every script in /docker-entrypoint-initdb.d as the superuser): creates the role the
# AgentPool services log in as (through PgBouncer). It owns the database and its `public`
# schema, so its migrations create and alter its own tables, but it is no superuser, cannot
# create roles or databases, and cannot read files or run programs on the server.
set -eu

: "${AGENTPOOL_DB_USER:?AGENTPOOL_DB_USER is not set (see deploy/postgres.env.example)}"
: "${AGENTPOOL_DB_PASSWORD:?AGENTPOOL_DB_PASSWORD is not set (see deploy/postgres.env.example)}"

# psql's variables quote the name (:"...") and the password (:'...'); the password goes in on
# stdin, never in a process's arguments.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v role="$AGENTPOOL_DB_USER" -v database="$POSTGRES_DB" <<SQL
\set password '$(printf '%s' "$AGENTPOOL_DB_PASSWORD" | sed "s/'/''/g")'
CREATE ROLE :"role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'password';
ALTER DATABASE :"database" OWNER TO :"role";
ALTER SCHEMA public OWNER TO :"role";
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"database" TO :"role";
SQL
