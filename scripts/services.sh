#!/usr/bin/env bash
# Starts the local PostgreSQL and RabbitMQ when they are down (used by .ci/run and `make demo`); a no-op when both
# are up. Also enables RabbitMQ's management plugin: the unacked counts on /ops/queues come from its API.
set -euo pipefail
exec 1>&2  # everything it says goes to stderr: `make demo DEMO_ARGS=--json` keeps stdout for the JSON

log() { printf '[services] %s\n' "$*"; }

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local deadline=$((SECONDS + $1)) what=$2
    shift 2
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            log "$what did not come up in time"
            return 1
        fi
        sleep 1
    done
}

start_postgres() {
    if pg_isready -h 127.0.0.1 -p 5432 -q; then
        log "PostgreSQL is up"
        return
    fi
    log "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
    wait_for 60 PostgreSQL pg_isready -h 127.0.0.1 -p 5432 -q
}

start_rabbitmq() {
    if timeout 30 rabbitmqctl -q await_startup >/dev/null 2>&1; then
        log "RabbitMQ is up"
        return
    fi
    log "starting RabbitMQ"
    rabbitmq-server -detached || true
    wait_for 120 RabbitMQ timeout 30 rabbitmqctl -q await_startup
}

enable_management() {
    timeout 60 rabbitmq-plugins enable rabbitmq_management >/dev/null 2>&1 || log "management plugin not enabled"
}

start_postgres
start_rabbitmq
enable_management
