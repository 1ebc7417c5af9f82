# shellcheck shell=bash
# The local stack check of scripts/test: deploy/local/up on free ports answers as the contract
# says (pools, auth, registry, one spawn, linked C libraries), and deploy/local/down leaves
# nothing running. Sourced after servers.sh and stack.sh; runs in a `set -e` subshell.

# Prints a passed check.
check_ok() { printf '  ok    %s\n' "$*"; }

# Prints a failed check and fails.
check_fail() {
    printf '  FAIL  %s\n' "$*" >&2
    return 1
}

# Prints the pool names that pool.yaml lists under `pools:`, one per line.
pool_names() {
    python3 - "$1" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
section = text.split("\npools:", 1)[1] if "\npools:" in text else ""
for name in re.findall(r"^\s*-\s*name:\s*['\"]?([A-Za-z0-9_-]+)", section, re.M):
    print(name)
PY
}

# Checks a GET /api/v1/agents/pools body in FILE against the expected pool names: exit 0 when
# right, 1 when only workers are missing so far (worth waiting), 2 when the shape is wrong.
# Prints what is wrong.
check_pools_json() {
    python3 - "$1" "$2" <<'PY'
import json, sys
fields = ["pool_name", "role", "process_count", "total_capacity", "used_capacity",
          "available_capacity", "agent_count", "utilization", "active_worker_processes",
          "max_agents_per_process", "min_workers", "max_workers", "desired_workers"]
expected = sorted(sys.argv[2].split())
try:
    pools = json.load(open(sys.argv[1]))
except ValueError as error:
    print(f"the body is not JSON: {error}"); sys.exit(2)
if not isinstance(pools, list) or not all(isinstance(p, dict) for p in pools):
    print("the body is not a list of objects"); sys.exit(2)
names = sorted(str(p.get("pool_name")) for p in pools)
if names != expected:
    print(f"pools {names}, expected {expected}"); sys.exit(2)
for pool in pools:
    missing = [f for f in fields if f not in pool]
    if missing:
        print(f"{pool['pool_name']} lacks {', '.join(missing)}"); sys.exit(2)
short = [f"{p['pool_name']} has {p['process_count']} of {p['min_workers']}" for p in pools
         if not p["process_count"] >= p["min_workers"]]
if short:
    print("workers still missing: " + "; ".join(short)); sys.exit(1)
print(", ".join(f"{p['pool_name']}: {p['process_count']} worker(s)" for p in pools))
PY
}

# Prints the HTTP status of a request and leaves its body in FILE. Arguments after FILE go to
# curl (method, headers, URL).
http() {
    local file=$1
    shift
    curl -sS -m 40 -o "$file" -w '%{http_code}' "$@" || true
}

# Runs the whole check with the stack's data in DIR and the executables in BIN.
stack_check() {
    local dir=$1 bin=$2 repo=$AGENTPOOL_REPO gp rp pp bp key body=$1.body code names result
    local deadline agent reply exe lib
    read -r gp rp pp bp <<<"$(free_port 4)"
    key=ap_check_$(new_secret)
    [[ -f $repo/pool.yaml ]] || check_fail "$repo/pool.yaml is missing"
    names=$(pool_names "$repo/pool.yaml" | tr '\n' ' ')

    # The secrets other than the key are left to up, which generates them.
    env -u REDIS_PASSWORD -u POSTGRES_PASSWORD STACK_DIR="$dir" GATEWAY_PORT="$gp" REDIS_PORT="$rp" \
        POSTGRES_PORT="$pp" PGBOUNCER_PORT="$bp" API_KEYS="$key" READY_TIMEOUT=60 \
        "$repo/deploy/local/up" --bin-dir "$bin" || check_fail "deploy/local/up failed"
    check_ok "deploy/local/up (gateway $gp, Redis $rp, PostgreSQL $pp, PgBouncer $bp)"

    local url=http://127.0.0.1:$gp/api/v1/agents/pools
    deadline=$((SECONDS + 60))
    while :; do
        code=$(http "$body" -H "Authorization: Bearer $key" "$url")
        if [[ $code != 200 ]]; then
            result="status $code: $(head -c 300 "$body" 2>/dev/null)"
        elif result=$(check_pools_json "$body" "$names"); then
            break
        elif [[ $? -eq 2 ]]; then
            check_fail "GET /api/v1/agents/pools: $result"
        fi
        ((SECONDS < deadline)) || check_fail "GET /api/v1/agents/pools after 60 s: $result"
        sleep 1
    done
    check_ok "GET /api/v1/agents/pools with the key: 200, pools ${names% }, every field ($result)"

    code=$(http "$body" "$url")
    [[ $code == 401 ]] || check_fail "GET /api/v1/agents/pools without a key: status $code, expected 401"
    python3 -c 'import json,sys; assert "code" in json.load(open(sys.argv[1]))["error"]' "$body" ||
        check_fail "the 401 body is not the contract's JSON error: $(head -c 300 "$body")"
    check_ok "GET /api/v1/agents/pools without a key: 401 with a JSON error"

    local redis_password
    redis_password=$(sed -n 's/^REDIS_PASSWORD=//p' "$dir/secrets.env")
    reply=$(REDISCLI_AUTH=$redis_password redis-cli -h 127.0.0.1 -p "$rp" \
        ZREVRANGE pool:developer_pool:processes 0 -1 WITHSCORES | tr '\n' ' ')
    [[ $reply =~ ^[0-9a-fA-F-]{36}\ 10\ $ ]] ||
        check_fail "pool:developer_pool:processes holds '$reply', expected one worker with score 10"
    check_ok "Redis pool:developer_pool:processes: one worker with 10 free slots"

    code=$(http "$body" -X POST -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
        --data '{"name": "stack-check"}' "$url/developer_pool/agents")
    [[ $code == 201 ]] || check_fail "POST $url/developer_pool/agents: status $code: $(head -c 300 "$body")"
    agent=$(python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); assert a["status"] == "running", a["status"]; print(a["agent_id"])' "$body") ||
        check_fail "the spawned agent is not running: $(head -c 300 "$body")"
    [[ $agent =~ ^[0-9a-fA-F-]{36}$ ]] || check_fail "agent_id '$agent' is not a UUID"
    check_ok "POST /api/v1/agents/pools/developer_pool/agents: 201, agent $agent running"

    local db_password
    db_password=$(sed -n 's/^POSTGRES_PASSWORD=//p' "$dir/secrets.env")
    reply=$(pg_query 127.0.0.1 "$pp" "$db_password" "$PG_APP_DB" "SELECT count(*) FROM agents WHERE id = '$agent'") ||
        check_fail "cannot query the agents table"
    [[ $reply == 1 ]] || check_fail "PostgreSQL holds $reply rows for agent $agent, expected 1"
    check_ok "PostgreSQL (direct) holds the agent's row"

    # Fuzz the live gateway from its OpenAPI document: no 5xx, every answer as documented.
    command -v schemathesis >/dev/null ||
        pip install -q --disable-pip-version-check schemathesis >"$dir/pip.log" 2>&1 ||
        check_fail "cannot install schemathesis (pip): $(tail -5 "$dir/pip.log")"
    schemathesis run "$repo/docs/openapi.json" --url "http://127.0.0.1:$gp" -H "Authorization: Bearer $key" \
        --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
        --max-examples 15 --no-color >"$dir/schemathesis.txt" 2>&1 ||
        { tail -60 "$dir/schemathesis.txt" >&2; check_fail "schemathesis found problems"; }
    check_ok "schemathesis: $(grep -Eo '[0-9]+ generated, [0-9]+ passed' "$dir/schemathesis.txt" | tail -1), no 5xx, answers match docs/openapi.json"

    # The dashboard renders the pools and workers in headless Chromium, at a laptop and a
    # phone viewport; the screenshots stay as test artifacts.
    local artifacts=${AGENTPOOL_ARTIFACTS:-$repo/artifacts}
    "$repo/scripts/check-dashboard" --url "http://127.0.0.1:$gp" --key "$key" --out "$artifacts" ||
        check_fail "the dashboard did not render (see $artifacts)"
    check_ok "dashboard rendered in headless Chromium (screenshots in $artifacts)"

    local linked
    for exe in gateway manager worker; do
        # Read ldd's output whole first: `ldd | grep -q` fails under pipefail when grep stops
        # reading early and ldd gets SIGPIPE.
        linked=$(ldd "$bin/$exe" 2>&1) || check_fail "ldd $exe failed"
        for lib in libhiredis libpq libyaml; do
            grep -q "$lib" <<<"$linked" || check_fail "$exe does not link $lib"
        done
    done
    check_ok "gateway, manager and worker link libhiredis, libpq and libyaml"

    STACK_DIR=$dir "$repo/deploy/local/down" || check_fail "deploy/local/down failed"
    stack_leftovers "$dir" "$gp $rp $pp $bp"
    check_ok "deploy/local/down: no process and no port of the stack left"

    # Secrets live in secrets.env and agentpool.env (mode 600) only, never in a log.
    local leaked
    leaked=$(grep -rlF --include='*.log' -e "$key" -e "$redis_password" -e "$db_password" "$dir" || true)
    [[ -z $leaked ]] || check_fail "a secret appears in: $leaked"
    check_ok "no API key or password in any log of the stack"
}

# Fails when anything of the stack in DIR still runs or any of PORTS still answers.
stack_leftovers() {
    local dir=$1 port pids
    pids=$(stack_app_pids "$dir" | tr '\n' ' ')
    [[ -z $pids ]] || check_fail "AgentPool processes of the stack still run: $pids"
    pid_alive "$(read_pidfile "$dir/redis/redis.pid")" && check_fail "Redis still runs"
    pid_alive "$(read_pidfile "$dir/pgbouncer/pgbouncer.pid")" && check_fail "PgBouncer still runs"
    pid_alive "$(read_pidfile "$dir/postgres/pgdata/postmaster.pid")" && check_fail "PostgreSQL still runs"
    for port in $2; do
        port_in_use "$port" && check_fail "port $port still answers"
    done
    return 0
}
