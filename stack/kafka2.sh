#!/usr/bin/env bash
# A second single-node KRaft Kafka cluster on other loopback ports, started only
# on demand: the other region's cluster of the MirrorMaker 2 test
# (test/it/regions/). Same broker settings and jars as the stack's own Kafka
# (stack/kafka/server.properties), its own data in stack/.data/kafka2 and its
# own pid file and logs in stack/.run/kafka2/.
#
#   bash stack/kafka2.sh start            start unless running (idempotent)
#   bash stack/kafka2.sh stop [--wipe]    stop; --wipe also deletes its data
#
# Ports: CDC_KAFKA2_PORT (59192) and CDC_KAFKA2_CONTROLLER_PORT (59193), see stack/env.sh.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

# shellcheck source=env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# shellcheck source=lib/common.sh
. "$CDC_STACK_DIR/lib/common.sh"
# shellcheck source=lib/services.sh
. "$CDC_STACK_DIR/lib/services.sh"

kafka_use_instance kafka2 "$CDC_KAFKA2_PORT" "$CDC_KAFKA2_CONTROLLER_PORT" "$CDC_STACK_DATA/kafka2" \
  "${CDC_KAFKA2_HEAP_OPTS:--Xms128m -Xmx512m}"

say() { printf '[kafka2] %s\n' "$*"; }

case "${1:-}" in
  start)
    take_stack_lock
    mkdir -p "$CDC_STACK_RUN/kafka2"
    kafka_start
    ;;
  stop)
    take_stack_lock
    kafka_stop
    if [[ "${2:-}" == --wipe ]]; then
      say "removing $KAFKA_DATA"
      rm -rf "$KAFKA_DATA"
    fi
    ;;
  *) die "usage: $0 start | stop [--wipe]" ;;
esac
