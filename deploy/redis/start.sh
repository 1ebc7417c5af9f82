#!/bin/sh
# Starts Redis for the compose stack with one ACL user per AgentPool service: renders the
# ACL file (deploy/redis/users.acl plus the passwords from compose.env) into memory (/tmp is
# a tmpfs) and runs redis-server through the image's entrypoint, which keeps it running as
# the unprivileged `redis` user.
set -eu

mkdir -p /tmp/redis
sh /etc/agentpool/redis-render-acl.sh /etc/agentpool/redis-users.acl /tmp/redis/users.acl
# The entrypoint drops to the `redis` user, which must read the file it was written as root.
chown -R redis:redis /tmp/redis 2>/dev/null || true
unset REDIS_GATEWAY_PASSWORD REDIS_MANAGER_PASSWORD REDIS_WORKER_PASSWORD
exec docker-entrypoint.sh redis-server --appendonly yes --aclfile /tmp/redis/users.acl
