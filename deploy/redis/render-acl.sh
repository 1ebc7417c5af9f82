#!/bin/sh
# Writes Redis's ACL file: the rules of TEMPLATE (deploy/redis/users.acl) with each user's
# password from the environment appended, to OUTPUT (mode 600).
#
#   render-acl.sh TEMPLATE OUTPUT
#
# REDIS_GATEWAY_PASSWORD, REDIS_MANAGER_PASSWORD, REDIS_WORKER_PASSWORD: the service users';
# REDIS_PASSWORD: the operators' `admin` user. Passwords must not contain whitespace (ACL
# lines are split on it); hex from `openssl rand -hex 32` is safest. printf is a shell
# builtin, so no password appears in a process's arguments.
set -eu

template=${1:?usage: render-acl.sh TEMPLATE OUTPUT}
output=${2:?usage: render-acl.sh TEMPLATE OUTPUT}

password_of() {
    case "$1" in
        gateway) value=${REDIS_GATEWAY_PASSWORD:-} ;;
        manager) value=${REDIS_MANAGER_PASSWORD:-} ;;
        worker) value=${REDIS_WORKER_PASSWORD:-} ;;
        admin) value=${REDIS_PASSWORD:-} ;;
        *) value= ; return 0 ;;
    esac
    if [ -z "$value" ]; then
        echo "render-acl.sh: no password for the Redis user $1 (see deploy/compose.env.example)" >&2
        exit 1
    fi
    case "$value" in
        *[[:space:]]*) echo "render-acl.sh: the password of $1 contains whitespace" >&2; exit 1 ;;
    esac
}

umask 077
: > "$output"
while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
        "user "*)
            name=${line#user }
            name=${name%% *}
            password_of "$name"
            if [ -n "$value" ]; then line="$line >$value"; fi
            ;;
        "#"* | "") continue ;;
    esac
    printf '%s\n' "$line" >> "$output"
done < "$template"
