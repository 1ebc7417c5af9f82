# shellcheck shell=bash
# Local Redis, PostgreSQL and PgBouncer for AgentPool: install, pick ports and folders, start,
# stop. Sourced by deploy/local/up, deploy/local/down and scripts/test; one function per job.
# Every start_* is idempotent (a server that already runs is left alone) and every stop_* is
# safe when nothing runs. Servers bind to 127.0.0.1 only.

_servers_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/lib/common.sh
source "$_servers_lib/common.sh"
# shellcheck source=deploy/lib/postgres.sh
source "$_servers_lib/postgres.sh"

# Set once apt-get update ran in this shell, so that it runs at most once.
_apt_updated=0

# Installs what the stack and the build need (and any package named as an argument), only
# when missing: apt-get update once, then apt-get install. Quiet unless it fails.
ensure_packages() {
    local wanted=(redis-server pgbouncer libhiredis-dev libpq-dev libyaml-dev pkg-config curl "$@")
    local missing=() pkg out
    for pkg in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
    done
    [[ -x $PG_BIN/initdb ]] || missing+=(postgresql-15)
    command -v psql >/dev/null || missing+=(postgresql-client-15)
    command -v python3 >/dev/null || missing+=(python3)
    ((${#missing[@]})) || return 0
    log "installing ${missing[*]}"
    if [[ " ${missing[*]} " == *" postgresql-15 "* ]]; then
        # Debian's package would otherwise create and start a "main" cluster on port 5432.
        as_root mkdir -p /etc/postgresql-common
        grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf ||
            echo 'create_main_cluster = false' | as_root tee -a /etc/postgresql-common/createcluster.conf >/dev/null
    fi
    out=$(mktemp)
    if ((!_apt_updated)); then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$out" 2>&1 ||
            { cat "$out" >&2; rm -f "$out"; err "apt-get update failed"; return 1; }
        _apt_updated=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >"$out" 2>&1 ||
        { cat "$out" >&2; rm -f "$out"; err "apt-get install ${missing[*]} failed"; return 1; }
    rm -f "$out"
}

# Prints COUNT (default 1) distinct free loopback TCP ports, space-separated. The kernel picks
# them (bind to port 0); all sockets stay open until every port is chosen, so none repeats.
free_port() {
    local count=${1:-1}
    if command -v python3 >/dev/null; then
        python3 - "$count" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
        return
    fi
    local ports=() port
    while ((${#ports[@]} < count)); do
        port=$((20000 + RANDOM % 10000))
        [[ " ${ports[*]} " == *" $port "* ]] || port_in_use "$port" || ports+=("$port")
    done
    printf '%s\n' "${ports[*]}"
}

# Prints a data folder the postgres user can reach (every parent needs o+x): PREFERRED when
# it can, else /var/tmp/agentpool-<hash of KEY> (KEY defaults to PREFERRED). Creates it.
pick_data_dir() {
    local preferred=$1 key=${2:-$1} created=0 fallback
    if [[ ! -d $preferred ]] && mkdir -p "$preferred" 2>/dev/null; then created=1; fi
    if [[ -d $preferred ]]; then
        chmod 755 "$preferred" 2>/dev/null || true
        if as_postgres test -x "$preferred"; then
            printf '%s\n' "$preferred"
            return 0
        fi
        ((created)) && rmdir "$preferred"
    fi
    fallback=/var/tmp/agentpool-$(printf '%s' "$key" | sha256sum | cut -c1-12)
    mkdir -p "$fallback" && chmod 755 "$fallback"
    as_postgres test -x "$fallback" ||
        { err "the postgres user cannot reach $preferred nor $fallback"; return 1; }
    printf '%s\n' "$fallback"
}

# Sends PING to the Redis on that loopback port; true on PONG. The password travels in the
# environment (REDISCLI_AUTH), never on a command line that ps would show.
redis_ping() {
    local port=$1 password=${2:-} reply
    if [[ -n $password ]]; then
        reply=$(REDISCLI_AUTH=$password redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null) || return 1
    else
        reply=$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null) || return 1
    fi
    [[ $reply == PONG ]]
}

# Starts Redis in DIR on 127.0.0.1:PORT, without persistence (everything in Redis can be
# rebuilt), requiring PASSWORD when given; waits until it answers PING.
start_redis() {
    local dir=$1 port=$2 password=${3:-} pid i
    local conf=$dir/redis.conf pidfile=$dir/redis.pid logfile=$dir/redis.log
    mkdir -p "$dir"
    pid=$(read_pidfile "$pidfile")
    if proc_is "$pid" redis-server; then
        redis_ping "$port" "$password" ||
            { err "Redis (pid $pid) does not answer on port $port with this password; stop it first"; return 1; }
        log "Redis already runs (pid $pid, port $port)"
        return 0
    fi
    port_in_use "$port" && { err "port $port is taken; Redis needs a free port"; return 1; }
    # The password goes into a file only we can read, not onto the command line.
    (
        umask 077
        printf '%s\n' "port $port" "bind 127.0.0.1" "save \"\"" "appendonly no" "daemonize yes" \
            "dir \"$dir\"" "pidfile \"$pidfile\"" "logfile \"$logfile\"" >"$conf"
        if [[ -n $password ]]; then
            local quoted=${password//\\/\\\\}
            printf 'requirepass "%s"\n' "${quoted//\"/\\\"}" >>"$conf"
        fi
    )
    redis-server "$conf" >/dev/null || { tail_logs 20 "$logfile"; err "Redis did not start"; return 1; }
    for ((i = 0; i < 100; i++)); do
        redis_ping "$port" "$password" && { log "Redis started (port $port)"; return 0; }
        sleep 0.1
    done
    tail_logs 20 "$logfile"
    err "Redis did not answer PING on port $port within 10 s"
    return 1
}

# Stops the Redis of DIR, if it runs.
stop_redis() {
    local pid
    pid=$(read_pidfile "$1/redis.pid")
    proc_is "$pid" redis-server && stop_pids Redis "$pid"
    rm -f "$1/redis.pid"
}

# Starts PgBouncer in DIR on 127.0.0.1:PORT in front of the PostgreSQL on PGPORT: transaction
# pooling, SCRAM authentication with the role's own secret, no Unix socket. Waits until a
# query through it works.
start_pgbouncer() {
    local dir=$1 port=$2 pgport=$3 password=$4 pid secret i
    local ini=$dir/pgbouncer.ini auth=$dir/userlist.txt pidfile=$dir/pgbouncer.pid
    mkdir -p "$dir"
    as_root chown postgres: "$dir" && chmod 755 "$dir"
    secret=$(pg_role_secret "$pgport" "$password") || return 1
    pid=$(read_pidfile "$pidfile")
    if proc_is "$pid" pgbouncer; then
        # The role's secret may have changed (new password): refresh it, then reload.
        if [[ $(cat "$auth" 2>/dev/null) != "\"$PG_APP_ROLE\" \"$secret\"" ]]; then
            write_pgbouncer_auth "$auth" "$secret" && kill -HUP "$pid"
            sleep 0.3
        fi
        log "PgBouncer already runs (pid $pid, port $port)"
    else
        port_in_use "$port" && { err "port $port is taken; PgBouncer needs a free port"; return 1; }
        write_pgbouncer_auth "$auth" "$secret" || return 1
        cat >"$ini" <<INI
[databases]
* = host=127.0.0.1 port=$pgport

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $auth
pool_mode = transaction
max_client_conn = 500
default_pool_size = 20
ignore_startup_parameters = extra_float_digits
logfile = $dir/pgbouncer.log
pidfile = $pidfile
INI
        as_postgres pgbouncer -d -q "$ini" ||
            { tail_logs 20 "$dir/pgbouncer.log"; err "PgBouncer did not start"; return 1; }
    fi
    for ((i = 0; i < 100; i++)); do
        pg_query 127.0.0.1 "$port" "$password" "$PG_APP_DB" 'SELECT 1' >/dev/null 2>&1 &&
            { log "PgBouncer ready (port $port)"; return 0; }
        sleep 0.1
    done
    tail_logs 20 "$dir/pgbouncer.log"
    err "no query went through PgBouncer on port $port within 10 s"
    return 1
}

# Writes PgBouncer's auth file: the role with its SCRAM secret, readable by postgres only.
write_pgbouncer_auth() {
    (umask 077 && printf '"%s" "%s"\n' "$PG_APP_ROLE" "$2" >"$1") && as_root chown postgres: "$1"
}

# Stops the PgBouncer of DIR, if it runs.
stop_pgbouncer() {
    local pid
    pid=$(read_pidfile "$1/pgbouncer.pid")
    proc_is "$pid" pgbouncer && stop_pids PgBouncer "$pid"
    rm -f "$1/pgbouncer.pid"
}
