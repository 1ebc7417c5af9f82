# syntax=docker/dockerfile:1
#
# A worker image whose agents are your own code (runtime: exec): the AgentPool image plus the
# interpreter the agents need and the agents themselves. This one adds Python 3 and
# examples/agents (the standard-library example agent and the OpenAI-compatible chat agent)
# under /srv/agents; pool.compose.yaml's developer_pool runs /srv/agents/python/agent.py, and
# docker-compose.yml builds this image for the worker-developer service.
#
#   docker build -f deploy/Dockerfile -t agentpool:local .
#   docker build -f deploy/agents.Dockerfile -t agentpool-agents:local .
#
# For your own agents: copy your code instead of examples/agents, install what it needs
# (an interpreter, its packages) in the RUN line, and name the program in the pool's
# `runtime.command`. The worker starts each agent as its child with a clean environment
# (PATH, HOME, LANG, TZ, plus the pool's `env` and `env_from`), never AgentPool's secrets.
ARG AGENTPOOL_IMAGE=agentpool:local
FROM ${AGENTPOOL_IMAGE}

USER root
# Debian's python3 (the base image's release fixes its version; see deploy/Dockerfile on pins).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 \
    && rm -rf /var/lib/apt/lists/*
COPY examples/agents /srv/agents
# Back to the unprivileged user of the base image: agents run as the worker does.
USER 10001:10001
