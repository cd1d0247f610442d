#!/usr/bin/env bash
# Runs MirrorMaker 2 in dedicated mode (what Kafka's connect-mirror-maker.sh
# does: org.apache.kafka.connect.mirror.MirrorMaker with a properties file) in
# the foreground, from the jars stack/install.sh copies into
# stack/.cache/kafka-<version>/mirror-libs. Not part of up.sh: the regions test
# (test/it/regions/) starts it with its own properties and stops it with
# SIGTERM (a clean shutdown).
#
#   bash stack/mirror-maker.sh PROPERTIES_FILE [--clusters A,B]
#
# Log: CDC_MIRROR_LOG (default stack/.run/mirror-maker.log).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

# shellcheck source=env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# shellcheck source=lib/common.sh
. "$CDC_STACK_DIR/lib/common.sh"

(($# >= 1)) || die "usage: $0 PROPERTIES_FILE [--clusters A,B]"
properties=$1
shift
[[ -r "$properties" ]] || die "cannot read $properties"
libs=$(mirror_libs_dir)
compgen -G "$libs/connect-mirror-*.jar" >/dev/null || die "MirrorMaker 2 jars missing in $libs: run stack/install.sh"
command -v java >/dev/null || die "java not found: run stack/install.sh"

log=${CDC_MIRROR_LOG:-$CDC_STACK_RUN/mirror-maker.log}
mkdir -p "$(dirname "$log")"
# exec: the caller's pid is the JVM's, so SIGTERM reaches MirrorMaker itself.
# shellcheck disable=SC2086 # the heap options are several words
exec java ${CDC_MIRROR_HEAP_OPTS:--Xms64m -Xmx384m} -XX:+UseG1GC -Djava.awt.headless=true \
  -Dmirror.log="$log" -Dlog4j2.configurationFile="$CDC_STACK_DIR/kafka/mirror/log4j2.xml" \
  -cp "$libs/*" org.apache.kafka.connect.mirror.MirrorMaker "$properties" "$@" 9>&-
