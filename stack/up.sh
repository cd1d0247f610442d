#!/usr/bin/env bash
# Starts the local stack: PostgreSQL 15, MariaDB 10.11, a single-node
# Kafka and a schema registry (Apicurio), each as a background process, each only if not already running.
#
#   bash stack/up.sh                      install what is missing, then start
#   CDC_SKIP_INSTALL=1 bash stack/up.sh   start only
#
# Addresses: see stack/env.sh (ports 55432, 53306, 59092 by default).
# Stop with stack/down.sh; restart one server with stack/restart-service.sh.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

# shellcheck source=env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# shellcheck source=lib/common.sh
. "$CDC_STACK_DIR/lib/common.sh"
# shellcheck source=lib/services.sh
. "$CDC_STACK_DIR/lib/services.sh"
take_stack_lock

if [[ "${CDC_SKIP_INSTALL:-0}" != 1 ]]; then
  bash "$CDC_STACK_DIR/install.sh"
  # shellcheck source=env.sh
  . "$CDC_STACK_DIR/env.sh" # install.sh may have added Node to .tools/
fi

mkdir -p "$CDC_STACK_DATA" "$CDC_STACK_RUN"
postgres_start
mariadb_start
kafka_start
registry_start
print_stack_summary
