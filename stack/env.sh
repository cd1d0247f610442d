# shellcheck shell=bash
# Environment of the local stack: source it (`. stack/env.sh`) from a shell, a
# script or CI. Every address can be overridden by setting it beforehand.
#
# No `set -euo pipefail` here on purpose: this file is also sourced into
# interactive shells, where those options would stay on after it returns.

# The repository root is always the checkout holding this file (never taken
# from the environment), so two checkouts cannot share each other's data.
CDC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CDC_ROOT

# A Node installed by stack/install.sh (when the system's is too old) wins.
if [[ -d "$CDC_ROOT/.tools/node-linux-x64/bin" ]]; then
  case ":$PATH:" in
    *":$CDC_ROOT/.tools/node-linux-x64/bin:"*) ;;
    *) PATH="$CDC_ROOT/.tools/node-linux-x64/bin:$PATH" ;;
  esac
  export PATH
fi

# Where the stack keeps its state (all git-ignored).
export CDC_STACK_DIR="$CDC_ROOT/stack"
export CDC_STACK_DATA="$CDC_STACK_DIR/.data"   # databases and Kafka logs
export CDC_STACK_RUN="$CDC_STACK_DIR/.run"     # pid files, sockets, server logs
export CDC_STACK_CACHE="$CDC_STACK_DIR/.cache" # downloads (Kafka jars)

# PostgreSQL's data folder, socket folder and log. PostgreSQL refuses to run
# as root, so as root the stack runs it as the `postgres` OS user, which
# cannot enter a checkout below a folder closed to others (/root, a mode-700
# `mktemp -d`). For root they therefore live in that user's home folder
# (/var/lib/postgresql, where Debian keeps its own clusters: reachable by it,
# kept across reboots, never swept like /var/tmp), in a folder named after a
# hash of the checkout's path, so two checkouts never share one; its
# `checkout` file names the checkout it belongs to. A cluster that an earlier
# version created in stack/.data/postgres stays in use until
# `stack/down.sh --wipe`. Anyone else runs PostgreSQL as themselves, so it
# stays in the checkout.
CDC_STACK_PG_DIR=''
if ((EUID == 0)); then
  CDC_STACK_PG_DIR="$(getent passwd postgres | cut -d: -f6)"
  CDC_STACK_PG_DIR="${CDC_STACK_PG_DIR:-/var/lib/postgresql}/cdc-stack-$(printf '%s' "$CDC_ROOT" | sha256sum | cut -c1-16)"
fi
export CDC_STACK_PG_DIR
if [[ -n "$CDC_STACK_PG_DIR" && ! -f "$CDC_STACK_DATA/postgres/PG_VERSION" ]]; then
  export CDC_PG_DATA="$CDC_STACK_PG_DIR/data"
  export CDC_PG_SOCKET_DIR="$CDC_STACK_PG_DIR/run"
  export CDC_PG_LOG="$CDC_STACK_PG_DIR/postgres.log" # linked from stack/.run/postgres.log
else
  export CDC_PG_DATA="$CDC_STACK_DATA/postgres"
  export CDC_PG_SOCKET_DIR="$CDC_STACK_RUN/postgres"
  export CDC_PG_LOG="$CDC_STACK_RUN/postgres.log"
fi

# Ports (local stack and docker-compose.yml use the same ones).
export CDC_PG_PORT="${CDC_PG_PORT:-55432}"
export CDC_MARIADB_PORT="${CDC_MARIADB_PORT:-53306}"
export CDC_KAFKA_PORT="${CDC_KAFKA_PORT:-59092}"
export CDC_KAFKA_CONTROLLER_PORT="${CDC_KAFKA_CONTROLLER_PORT:-59093}"
# A second Kafka cluster, started only on demand (stack/kafka2.sh) as another region's
# cluster for the MirrorMaker 2 test; not part of up.sh.
export CDC_KAFKA2_PORT="${CDC_KAFKA2_PORT:-59192}"
export CDC_KAFKA2_CONTROLLER_PORT="${CDC_KAFKA2_CONTROLLER_PORT:-59193}"
# A Kafka whose clients must use TLS or SASL_SSL, started only on demand
# (stack/kafka-secure.sh) by the tests of kafka.tls and kafka.sasl; not part of up.sh.
export CDC_KAFKA_SECURE_TLS_PORT="${CDC_KAFKA_SECURE_TLS_PORT:-59292}"
export CDC_KAFKA_SECURE_SASL_PORT="${CDC_KAFKA_SECURE_SASL_PORT:-59293}"
export CDC_KAFKA_SECURE_WRONG_HOST_PORT="${CDC_KAFKA_SECURE_WRONG_HOST_PORT:-59294}"
export CDC_KAFKA_SECURE_INTERNAL_PORT="${CDC_KAFKA_SECURE_INTERNAL_PORT:-59295}"
export CDC_KAFKA_SECURE_CONTROLLER_PORT="${CDC_KAFKA_SECURE_CONTROLLER_PORT:-59296}"
# REST port of the Kafka Connect standalone worker the subscriber-topics test starts (Debezium JDBC sink).
export CDC_CONNECT_PORT="${CDC_CONNECT_PORT:-58083}"

# The schema registry (Apicurio, Confluent-compatible API), started by up.sh.
export CDC_REGISTRY_PORT="${CDC_REGISTRY_PORT:-58081}"

# Connection strings used by the service and the tests.
export CDC_PG_SOURCE_URL="${CDC_PG_SOURCE_URL:-postgres://postgres@127.0.0.1:$CDC_PG_PORT/cdc_source}"
export CDC_PG_REPLICA_URL="${CDC_PG_REPLICA_URL:-postgres://postgres@127.0.0.1:$CDC_PG_PORT/cdc_replica}"
export CDC_PG_ADMIN_URL="${CDC_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:$CDC_PG_PORT/postgres}"
export CDC_MARIADB_URL="${CDC_MARIADB_URL:-mysql://root@127.0.0.1:$CDC_MARIADB_PORT/}"
export CDC_KAFKA_BROKERS="${CDC_KAFKA_BROKERS:-127.0.0.1:$CDC_KAFKA_PORT}"
export CDC_KAFKA2_BROKERS="${CDC_KAFKA2_BROKERS:-127.0.0.1:$CDC_KAFKA2_PORT}"
export CDC_REGISTRY_URL="${CDC_REGISTRY_URL:-http://127.0.0.1:$CDC_REGISTRY_PORT/apis/ccompat/v7}"
