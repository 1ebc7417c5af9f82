# shellcheck shell=bash
# The local stack's own pieces: its data folder, its secrets, and the AgentPool processes
# (gateway, manager, workers) that deploy/local/up starts and deploy/local/down stops.
# Sourced after servers.sh.

# The file that marks a folder as a stack's data folder (down --wipe deletes only those).
STACK_MARKER=.agentpool-stack
# The secrets up generates when the environment does not give them.
STACK_SECRETS=(API_KEYS REDIS_PASSWORD POSTGRES_PASSWORD)

# Prints the data folder for up, creating it: STACK_DIR when set, else <repo>/.stack when the
# postgres user can reach it, else a folder under /var/tmp named after the repository.
stack_dir_create() {
    local repo=$1 dir
    if [[ -n ${STACK_DIR:-} ]]; then
        dir=$STACK_DIR
        mkdir -p "$dir" && chmod 755 "$dir"
        dir=$(cd "$dir" && pwd -P)
        as_postgres test -x "$dir" ||
            { err "the postgres user cannot reach STACK_DIR=$dir (every parent folder needs o+x)"; return 1; }
    else
        dir=$(pick_data_dir "$repo/.stack" "$repo") || return 1
    fi
    mkdir -p "$dir/logs" "$dir/run"
    touch "$dir/$STACK_MARKER"
    printf '%s\n' "$dir"
}

# Prints the data folder of an existing stack, found the same way as stack_dir_create but
# without creating anything; fails when there is none.
stack_dir_find() {
    local repo=$1 dir
    if [[ -n ${STACK_DIR:-} ]]; then
        [[ -f $STACK_DIR/$STACK_MARKER ]] || return 1
        (cd "$STACK_DIR" && pwd -P)
        return 0
    fi
    for dir in "$repo/.stack" "/var/tmp/agentpool-$(printf '%s' "$repo" | sha256sum | cut -c1-12)"; do
        if [[ -f $dir/$STACK_MARKER ]]; then
            printf '%s\n' "$dir"
            return 0
        fi
    done
    return 1
}

# Sets and exports API_KEYS, REDIS_PASSWORD and POSTGRES_PASSWORD: a value in the environment
# wins; else the one kept in FILE; else a new one, generated once and kept in FILE (mode 600).
# Prints nothing secret.
stack_secrets() {
    local file=$1 name value line changed=0
    declare -A kept=()
    if [[ -f $file ]]; then
        while IFS= read -r line; do
            if [[ $line == [A-Z]*=* ]]; then kept[${line%%=*}]=${line#*=}; fi
        done <"$file"
    fi
    for name in "${STACK_SECRETS[@]}"; do
        if [[ -n ${!name:-} ]]; then
            log "$name: from the environment"
            continue
        elif [[ -n ${kept[$name]:-} ]]; then
            value=${kept[$name]}
        else
            value=$(new_secret)
            [[ $name == API_KEYS ]] && value=ap_$value
            kept[$name]=$value
            changed=1
            log "$name: generated into $file"
        fi
        export "$name=$value"
    done
    if ((changed)); then
        (
            umask 077
            printf '# Secrets generated once by deploy/local/up; the environment overrides them.\n'
            for name in "${STACK_SECRETS[@]}"; do
                if [[ -n ${kept[$name]:-} ]]; then printf '%s=%s\n' "$name" "${kept[$name]}"; fi
            done
        ) >"$file.tmp" && mv "$file.tmp" "$file"
    fi
    chmod 600 "$file" 2>/dev/null || true
}

# Prints the pids of this stack's AgentPool processes of the programs named (default: gateway,
# manager and worker): those whose environment holds AGENTPOOL_STACK=<dir> and that run one
# of those programs. Both must hold, so that an operator's shell that sourced agentpool.env
# is never among them.
stack_app_pids() {
    local stack=$1 file pid name
    shift
    local names=("$@")
    ((${#names[@]})) || names=(gateway manager worker)
    for file in $(grep -lzxF "AGENTPOOL_STACK=$stack" /proc/[0-9]*/environ 2>/dev/null || true); do
        pid=${file#/proc/}
        pid=${pid%/environ}
        for name in "${names[@]}"; do
            if proc_is "$pid" "$name"; then
                printf '%s\n' "$pid"
                break
            fi
        done
    done
}

# Starts one AgentPool executable in its own session (it outlives this script and the
# terminal), output appended to LOGFILE, pid in PIDFILE. Leaves a running one alone.
start_app() {
    local name=$1 pidfile=$2 logfile=$3 pid i
    shift 3
    pid=$(read_pidfile "$pidfile")
    if proc_is "$pid" "$name"; then
        log "$name already runs (pid $pid)"
        return 0
    fi
    rm -f "$pidfile"
    printf '\n===== %s: starting %s =====\n' "$(date -u +%FT%TZ)" "$*" >>"$logfile"
    # The inner shell writes its own pid and then becomes the program, so the pid is right
    # whether or not setsid had to fork. (Single quotes: the inner shell expands them.)
    # shellcheck disable=SC2016
    setsid bash -c 'echo "$$" >"$0" && exec "$@"' "$pidfile" "$@" >>"$logfile" 2>&1 </dev/null &
    for ((i = 0; i < 50; i++)); do
        pid=$(read_pidfile "$pidfile")
        if [[ -n $pid ]]; then
            log "$name started (pid $pid)"
            return 0
        fi
        sleep 0.1
    done
    err "$name did not start (see $logfile)"
    return 1
}

# Stops the AgentPool executable NAME of PIDFILE, if it runs.
stop_app() {
    local name=$1 pidfile=$2 pid
    pid=$(read_pidfile "$pidfile")
    proc_is "$pid" "$name" && stop_pids "$name" "$pid"
    rm -f "$pidfile"
}

# Writes FILE (mode 600) with `export NAME=value` lines for the variables named, so that an
# operator can `source` the environment the services got.
write_env_file() {
    local file=$1 name
    shift
    (
        umask 077
        printf '# Environment of the AgentPool services of this stack (written by deploy/local/up).\n'
        for name in "$@"; do
            if [[ -n ${!name:-} ]]; then printf 'export %s=%q\n' "$name" "${!name}"; fi
        done
    ) >"$file"
    chmod 600 "$file"
}

# True when GET URL with the API key answers with every pool at or above its min_workers.
pools_have_min_workers() {
    curl -fsS -m 5 -H "Authorization: Bearer $2" "$1" 2>/dev/null | python3 -c '
import json, sys
pools = json.load(sys.stdin)
sys.exit(0 if all(p["process_count"] >= p["min_workers"] for p in pools) else 1)' 2>/dev/null
}
