# shellcheck shell=bash
# Small helpers every AgentPool shell script shares: messages, privileges and processes.
# Sourced (through servers.sh), never run. Callers set -euo pipefail themselves.
# Functions print progress on stderr so that stdout stays free for the values they return.

# Seconds a process gets between SIGTERM and SIGKILL.
STOP_TIMEOUT=${STOP_TIMEOUT:-10}

# Prints one progress line.
log() { printf '%s\n' "$*" >&2; }

# Prints a warning.
warn() { printf 'warning: %s\n' "$*" >&2; }

# Prints an error; the caller decides whether to return or exit.
err() { printf 'error: %s\n' "$*" >&2; }

# Runs a command as root: directly when we are root, else through sudo (never prompting).
as_root() {
    if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo -n -- "$@"; fi
}

# Runs a command as the postgres user, which PostgreSQL and PgBouncer require (they refuse
# root). From / so that a caller's unreadable working directory (e.g. /root) draws no warning;
# every path handed to it is therefore absolute.
as_postgres() {
    if [[ $(id -u) -eq 0 ]]; then
        (cd / && runuser -u postgres -- "$@")
    elif [[ $(id -un) == postgres ]]; then
        (cd / && "$@")
    else
        (cd / && sudo -n -u postgres -- "$@")
    fi
}

# Prints the pid in the first line of a pid file, or nothing when the file is missing.
read_pidfile() {
    local line=''
    if [[ -r $1 ]]; then IFS= read -r line <"$1" || true; fi
    [[ $line =~ ^[0-9]+$ ]] && printf '%s\n' "$line"
    return 0
}

# True when the pid names a live process. A zombie counts as gone: it only waits to be reaped.
pid_alive() {
    local pid=${1:-} stat
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}

# Prints the file name of a process's executable, without a " (deleted)" suffix (a rebuild
# replaces the file under a running process).
proc_exe_name() {
    local exe
    exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
    exe=${exe% (deleted)}
    printf '%s\n' "${exe##*/}"
}

# True when the live process runs the program of that name, by its executable's file name or
# by its command name (redis-server is a link to redis-check-rdb). Guards against pid reuse.
proc_is() {
    local comm=''
    pid_alive "$1" || return 1
    [[ $(proc_exe_name "$1") == "$2" ]] && return 0
    comm=$(cat "/proc/$1/comm" 2>/dev/null) || return 1
    [[ $comm == "$2" ]]
}

# True when something accepts TCP connections on that loopback port.
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Stops processes: SIGTERM to all, up to STOP_TIMEOUT seconds for them to exit, then SIGKILL.
# Pids that are not alive are ignored, so this is safe when nothing runs.
stop_pids() {
    local label=$1 pid tick
    shift
    local pids=() alive=()
    for pid in "$@"; do
        if pid_alive "$pid"; then pids+=("$pid"); fi
    done
    ((${#pids[@]})) || return 0
    log "stopping $label (pid ${pids[*]})"
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for ((tick = 0; ; tick++)); do
        alive=()
        for pid in "${pids[@]}"; do
            if pid_alive "$pid"; then alive+=("$pid"); fi
        done
        ((${#alive[@]})) || return 0
        ((tick < STOP_TIMEOUT * 5)) || break
        sleep 0.2
    done
    warn "$label did not stop within ${STOP_TIMEOUT}s; killing pid ${alive[*]}"
    kill -KILL "${alive[@]}" 2>/dev/null || true
    sleep 0.2
}

# Prints the last lines of each readable file given, under a header naming it.
tail_logs() {
    local lines=$1 file
    shift
    for file in "$@"; do
        [[ -r $file ]] || continue
        printf -- '----- last %s lines of %s -----\n' "$lines" "$file" >&2
        tail -n "$lines" "$file" >&2 || true
    done
}

# Prints a fresh random secret: 32 hex digits from the kernel's generator.
new_secret() {
    od -An -tx1 -N16 /dev/urandom | tr -d ' \n'
}

# Prints a string percent-encoded for use inside a URL's user or password part.
url_encode() {
    local LC_ALL=C s=$1 out='' c i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case $c in
            [A-Za-z0-9._~-]) out+=$c ;;
            *) printf -v c '%%%02X' "'$c" && out+=$c ;;
        esac
    done
    printf '%s\n' "$out"
}
