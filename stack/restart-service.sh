#!/usr/bin/env bash
# Stops and starts one server of the local stack (or several, in the order
# given), waiting until it answers again. Failure tests use it to restart a
# broker or a database in the middle of a stream.
#
#   bash stack/restart-service.sh kafka|postgres|mariadb|registry [...]
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

# shellcheck source=env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# shellcheck source=lib/common.sh
. "$CDC_STACK_DIR/lib/common.sh"
# shellcheck source=lib/services.sh
. "$CDC_STACK_DIR/lib/services.sh"

usage="usage: $0 kafka|postgres|mariadb|registry [...]"
(($# > 0)) || die "$usage"
for service in "$@"; do
  case "$service" in
    kafka | postgres | mariadb | registry) ;;
    *) die "unknown service '$service'; $usage" ;;
  esac
done

take_stack_lock
for service in "$@"; do
  "${service}_stop"
  "${service}_start"
done
