#!/usr/bin/env bash
# Stops the local stack cleanly (the schema registry, Kafka, then MariaDB, then PostgreSQL).
#
#   bash stack/down.sh          stop; data stays in stack/.data
#   bash stack/down.sh --wipe   stop and delete stack/.data and, when run as root,
#                               PostgreSQL's folder outside the checkout (fresh clusters next time)
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

# shellcheck source=env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# shellcheck source=lib/common.sh
. "$CDC_STACK_DIR/lib/common.sh"
# shellcheck source=lib/services.sh
. "$CDC_STACK_DIR/lib/services.sh"

wipe=0
case "${1:-}" in
  '') ;;
  --wipe) wipe=1 ;;
  *) die "usage: $0 [--wipe]" ;;
esac

take_stack_lock
# The secured test broker, should a test have been killed before it stopped it.
bash "$CDC_STACK_DIR/kafka-secure.sh" stop
registry_stop
kafka_stop
mariadb_stop
postgres_stop

if ((wipe)); then
  say "removing $CDC_STACK_DATA"
  rm -rf "$CDC_STACK_DATA"
  if [[ -n "$CDC_STACK_PG_DIR" && -e "$CDC_STACK_PG_DIR" ]]; then
    say "removing $CDC_STACK_PG_DIR"
    rm -rf "$CDC_STACK_PG_DIR"
  fi
fi
