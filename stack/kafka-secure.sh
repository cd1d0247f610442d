#!/usr/bin/env bash
# A single-node KRaft Kafka whose clients must use TLS or SASL_SSL, started
# only on demand by the tests of kafka.tls and kafka.sasl
# (test/support/secure-kafka.ts), on ports of its own so the stack's Kafka is
# never touched. Same jars and base settings as the stack's Kafka
# (stack/kafka/server.properties) with the listeners of
# stack/kafka/secure.properties. Its certificates (openssl, stack/lib/tls.sh),
# the password of its user and its log folder are made once, in
# stack/.data/kafka-secure; pid file and logs in stack/.run/kafka-secure/.
#
#   bash stack/kafka-secure.sh start            start unless running (idempotent)
#   bash stack/kafka-secure.sh stop [--wipe]    stop; --wipe also deletes its data
#
# Ports (stack/env.sh): CDC_KAFKA_SECURE_TLS_PORT (59292, mutual TLS),
# CDC_KAFKA_SECURE_SASL_PORT (59293, SASL_SSL), CDC_KAFKA_SECURE_WRONG_HOST_PORT
# (59294, TLS with a certificate for another host), and for the broker itself
# CDC_KAFKA_SECURE_INTERNAL_PORT (59295) and CDC_KAFKA_SECURE_CONTROLLER_PORT (59296).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

# shellcheck source=env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# shellcheck source=lib/common.sh
. "$CDC_STACK_DIR/lib/common.sh"
# shellcheck source=lib/services.sh
. "$CDC_STACK_DIR/lib/services.sh"
# shellcheck source=lib/tls.sh
. "$CDC_STACK_DIR/lib/tls.sh"

SECURE_DATA="$CDC_STACK_DATA/kafka-secure"
SECURE_RUN="$CDC_STACK_RUN/kafka-secure"
TLS_DIR="$SECURE_DATA/tls"
CREDENTIALS="$SECURE_DATA/credentials"

kafka_use_instance kafka-secure "$CDC_KAFKA_SECURE_INTERNAL_PORT" "$CDC_KAFKA_SECURE_CONTROLLER_PORT" \
  "$SECURE_DATA/log" "${CDC_KAFKA_SECURE_HEAP_OPTS:--Xms128m -Xmx384m}"
# shellcheck disable=SC2034 # read by kafka_render_properties
KAFKA_PROPERTIES_EXTRA="$SECURE_RUN/secure.properties"

say() { printf '[kafka-secure] %s\n' "$*"; }

# The user and password the tests sign in with, and the key store password:
# random, made once (the SCRAM credentials are written when the log folder is
# formatted), kept beside the data.
make_credentials() {
  # Credentials of an older version of this script (without the limited user) go with the broker's data:
  # its users are written into the metadata when the data folder is formatted.
  if [[ -s "$CREDENTIALS" ]] && ! grep -q '^limited_password=' "$CREDENTIALS"; then
    say "credentials without the limited user: removing $SECURE_DATA"
    rm -rf "$SECURE_DATA"
  fi
  [[ -s "$CREDENTIALS" ]] && return 0
  [[ -e "$KAFKA_DATA" ]] && die "$KAFKA_DATA exists without $CREDENTIALS: run $0 stop --wipe"
  mkdir -p "$SECURE_DATA"
  printf 'user=cdc\npassword=%s\nstore_password=%s\nlimited_user=limited\nlimited_password=%s\n' \
    "$(openssl rand -hex 16)" "$(openssl rand -hex 16)" "$(openssl rand -hex 16)" >"$CREDENTIALS.tmp"
  mv "$CREDENTIALS.tmp" "$CREDENTIALS"
}

credential() {
  sed -n "s/^$1=//p" "$CREDENTIALS"
}

start() {
  # Its properties hold the user's password and the key store's.
  umask 077
  mkdir -p "$SECURE_RUN"
  make_credentials
  tls_make_test_files "$TLS_DIR" "$(credential store_password)"
  local user password
  user=$(credential user)
  password=$(credential password)
  render_template "$CDC_STACK_DIR/kafka/secure.properties" "$KAFKA_PROPERTIES_EXTRA" \
    INTERNAL_PORT="$CDC_KAFKA_SECURE_INTERNAL_PORT" TLS_PORT="$CDC_KAFKA_SECURE_TLS_PORT" \
    SASL_PORT="$CDC_KAFKA_SECURE_SASL_PORT" WRONG_HOST_PORT="$CDC_KAFKA_SECURE_WRONG_HOST_PORT" \
    CONTROLLER_PORT="$CDC_KAFKA_SECURE_CONTROLLER_PORT" TLS_DIR="$TLS_DIR" \
    STORE_PASSWORD="$(credential store_password)" USER="$user" PASSWORD="$password" \
    LIMITED_USER="$(credential limited_user)" LIMITED_PASSWORD="$(credential limited_password)"
  KAFKA_FORMAT_ARGS=(
    --add-scram "SCRAM-SHA-256=[name=$user,password=$password]"
    --add-scram "SCRAM-SHA-512=[name=$user,password=$password]"
    --add-scram "SCRAM-SHA-512=[name=$(credential limited_user),password=$(credential limited_password)]"
  )
  kafka_start
}

case "${1:-}" in
  start)
    take_stack_lock
    start
    ;;
  stop)
    take_stack_lock
    kafka_stop
    if [[ "${2:-}" == --wipe ]]; then
      say "removing $SECURE_DATA"
      rm -rf "$SECURE_DATA"
    fi
    ;;
  *) die "usage: $0 start | stop [--wipe]" ;;
esac
