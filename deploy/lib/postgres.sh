# shellcheck shell=bash
# PostgreSQL for AgentPool: one cluster per data folder, run as the postgres user, holding
# the application role and database. Sourced by servers.sh.

# PostgreSQL's server binaries (Debian keeps them off PATH).
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
# The role and database the services use; the role owns the database.
PG_APP_ROLE=agentpool
PG_APP_DB=agentpool

# Prints the folder for the PostgreSQL cluster's Unix socket: DIR itself, unless its path is
# too long for a socket address (108 bytes with ".s.PGSQL.<port>"); then a short folder in /tmp.
pg_socket_dir() {
    local dir=$1 short
    if ((${#dir} <= 88)); then
        printf '%s\n' "$dir"
        return 0
    fi
    short=/tmp/agentpool-pg-$(printf '%s' "$dir" | sha256sum | cut -c1-12)
    mkdir -p "$short" && as_root chown postgres: "$short" && chmod 700 "$short"
    printf '%s\n' "$short"
}

# Runs SQL from stdin as the postgres superuser over the cluster's Unix socket (peer auth),
# stopping at the first error. Prints unaligned, tuples-only results.
pg_admin() {
    local socket=$1 port=$2
    as_postgres "$PG_BIN/psql" -h "$socket" -p "$port" -U postgres -d postgres \
        -X -q -A -t -v ON_ERROR_STOP=1 -f -
}

# Runs one SQL command as the application role over TCP (direct or through PgBouncer).
# The password travels in the environment, never on the command line.
pg_query() {
    local host=$1 port=$2 password=$3 db=$4 sql=$5
    PGPASSWORD=$password PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -h "$host" -p "$port" -U "$PG_APP_ROLE" \
        -d "$db" -X -q -A -t -v ON_ERROR_STOP=1 -c "$sql"
}

# Starts the cluster in DIR/pgdata (creating it the first time) on 127.0.0.1:PORT, then makes
# sure the application role (with PASSWORD) and its database exist. Local connections use
# peer auth, TCP ones SCRAM: nobody gets in without a password.
start_postgres() {
    local dir=$1 port=$2 password=$3 data=$1/pgdata socket running
    mkdir -p "$dir"
    as_root chown postgres: "$dir" && chmod 755 "$dir"
    if [[ ! -f $data/PG_VERSION ]]; then
        log "creating the PostgreSQL cluster in $data"
        as_postgres "$PG_BIN/initdb" -D "$data" -U postgres -E UTF8 --locale=C.UTF-8 \
            --auth-local=peer --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 ||
            { tail_logs 20 "$dir/initdb.log"; err "initdb failed"; return 1; }
    fi
    socket=$(pg_socket_dir "$dir")
    if pg_running "$data"; then
        # Line 4 of postmaster.pid is the port it listens on.
        running=$(sed -n 4p "$data/postmaster.pid")
        [[ $running == "$port" ]] ||
            { err "PostgreSQL of $data already runs on port $running, not $port; stop it first"; return 1; }
        log "PostgreSQL already runs (pid $(read_pidfile "$data/postmaster.pid"), port $port)"
    else
        pg_wait_reaped "$data"
        port_in_use "$port" && { err "port $port is taken; PostgreSQL needs a free port"; return 1; }
        as_postgres "$PG_BIN/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 \
            -o "-p $port -k '$socket' -c listen_addresses=127.0.0.1" start >/dev/null ||
            { tail_logs 20 "$dir/postgres.log"; err "PostgreSQL did not start"; return 1; }
        log "PostgreSQL started (port $port)"
    fi
    pg_ensure_app_role "$socket" "$port" "$password"
}

# True when the postmaster of the data folder runs (a killed one that is not yet reaped
# does not count, unlike for pg_ctl status).
pg_running() {
    local pid
    pid=$(read_pidfile "$1/postmaster.pid")
    proc_is "$pid" postgres
}

# Waits (up to 5 s) until a dead postmaster's pid is gone from the process table: PostgreSQL
# refuses to start while the pid in its lock file still exists, even as a zombie.
pg_wait_reaped() {
    local pid i
    pid=$(read_pidfile "$1/postmaster.pid")
    [[ -n $pid ]] || return 0
    for ((i = 0; i < 50; i++)); do
        # Gone, or alive as some other program: nothing to wait for.
        if [[ ! -e /proc/$pid ]] || pid_alive "$pid"; then return 0; fi
        sleep 0.1
    done
}

# Creates the application role and database when missing, and sets the role's password only
# when it does not already work: a new password means a new SCRAM salt, which PgBouncer's
# copy of the secret must then follow.
pg_ensure_app_role() {
    local socket=$1 port=$2 password=$3
    pg_admin "$socket" "$port" <<SQL || { err "could not create the $PG_APP_ROLE role"; return 1; }
SELECT 'CREATE ROLE $PG_APP_ROLE LOGIN'
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$PG_APP_ROLE')\gexec
SQL
    local has_password
    has_password=$(pg_admin "$socket" "$port" <<<"SELECT rolpassword IS NOT NULL FROM pg_authid WHERE rolname = '$PG_APP_ROLE'")
    if [[ $has_password != t ]] || ! pg_query 127.0.0.1 "$port" "$password" postgres 'SELECT 1' >/dev/null 2>&1; then
        # Standard SQL literal: only the single quote needs doubling.
        pg_admin "$socket" "$port" <<<"ALTER ROLE $PG_APP_ROLE LOGIN PASSWORD '${password//\'/\'\'}'" ||
            { err "could not set the $PG_APP_ROLE password"; return 1; }
    fi
    pg_admin "$socket" "$port" <<SQL || { err "could not create the $PG_APP_DB database"; return 1; }
SELECT 'CREATE DATABASE $PG_APP_DB OWNER $PG_APP_ROLE'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$PG_APP_DB')\gexec
SQL
}

# Prints the Unix socket folder of the PostgreSQL that listens on PORT, from the kernel's
# list of Unix sockets (the socket file is ".s.PGSQL.<port>").
pg_socket_for_port() {
    local path
    path=$(awk -v s="/.s.PGSQL.$1" 'substr($NF, length($NF) - length(s) + 1) == s { print $NF; exit }' /proc/net/unix)
    [[ -n $path ]] || return 1
    printf '%s\n' "${path%/*}"
}

# Prints the application role's SCRAM secret, as PgBouncer's auth file needs it: checks that
# PASSWORD logs in over TCP, then reads pg_authid as the superuser over the Unix socket.
pg_role_secret() {
    local port=$1 password=$2 socket secret
    pg_query 127.0.0.1 "$port" "$password" postgres 'SELECT 1' >/dev/null ||
        { err "cannot log in to PostgreSQL on port $port as $PG_APP_ROLE"; return 1; }
    socket=$(pg_socket_for_port "$port") ||
        { err "no Unix socket of the PostgreSQL on port $port"; return 1; }
    secret=$(pg_admin "$socket" "$port" <<<"SELECT rolpassword FROM pg_authid WHERE rolname = '$PG_APP_ROLE'") ||
        { err "cannot read the $PG_APP_ROLE secret"; return 1; }
    [[ $secret == SCRAM-SHA-256\$* ]] || { err "the $PG_APP_ROLE password is not stored as SCRAM"; return 1; }
    printf '%s\n' "$secret"
}

# Stops the cluster of DIR (fast mode: open sessions are ended), if it runs.
stop_postgres() {
    local data=$1/pgdata
    pg_running "$data" || return 0
    log "stopping PostgreSQL (pid $(read_pidfile "$data/postmaster.pid"))"
    as_postgres "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t "$STOP_TIMEOUT" stop >/dev/null 2>&1 ||
        as_postgres "$PG_BIN/pg_ctl" -D "$data" -m immediate -w -t "$STOP_TIMEOUT" stop >/dev/null
}
