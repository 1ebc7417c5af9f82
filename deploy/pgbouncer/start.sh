#!/bin/sh
# Starts PgBouncer for the compose stack: writes its auth file from the container's
# environment (POSTGRES_USER and POSTGRES_PASSWORD from compose.env, the same variables the
# postgres service and the AgentPool services read), then runs pgbouncer in the foreground.
#
# Why not the image's own entrypoint: it wants the password under other names (DB_USER,
# DB_PASSWORD), which would mean keeping it twice in compose.env or interpolating it into
# docker-compose.yml (where `docker compose config` would print it).
set -eu

: "${POSTGRES_USER:?POSTGRES_USER is not set (see deploy/compose.env.example)}"
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is not set (see deploy/compose.env.example)}"

# Readable by this container's user only. printf is a shell builtin and sed reads the values
# on stdin, so the password never appears in a process's arguments.
umask 077
mkdir -p /tmp/pgbouncer
# The auth file's format is `"user" "password"`, with a double quote inside written twice.
user=$(printf '%s' "$POSTGRES_USER" | sed 's/"/""/g')
password=$(printf '%s' "$POSTGRES_PASSWORD" | sed 's/"/""/g')
printf '"%s" "%s"\n' "$user" "$password" > /tmp/pgbouncer/userlist.txt
unset password POSTGRES_PASSWORD

exec pgbouncer /etc/agentpool/pgbouncer.ini
