#!/usr/bin/env bash
# Debezium Server, the peer `npm run bench:peer` compares the capture with.
# Not part of install.sh, up.sh or CI: its distribution is ~780 MB, fetched
# only when the peer bench asks for it.
#
#   bash stack/debezium-server.sh install   fetches io.debezium:debezium-server-dist
#                                           (tar.gz, Maven Central) and unpacks it
#                                           once into stack/.cache/debezium-server-<version>
#   bash stack/debezium-server.sh describe  prints the version and the Java it runs on
#   bash stack/debezium-server.sh run DIR   runs it in the foreground in DIR, with its settings in
#                                           DIR/config/application.properties (where Quarkus looks
#                                           for them) and its offsets and schema history under DIR
#
# Its classes need Java 21 or newer; Debian 12's default is 17, so a newer JDK
# is looked for under /usr/lib/jvm (CDC_DEBEZIUM_JAVA names one instead).
# Heap: CDC_DEBEZIUM_HEAP_OPTS (default -Xmx512m).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

# shellcheck source=env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# shellcheck source=lib/common.sh
. "$CDC_STACK_DIR/lib/common.sh"

DEBEZIUM_VERSION=3.6.1.Final
home="$CDC_STACK_CACHE/debezium-server-$DEBEZIUM_VERSION"

log() { printf '[debezium-server] %s\n' "$*" >&2; }

install_server() {
  if [[ -f "$home/.complete" ]]; then
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || die "mvn not found: apt-get install maven (fetches Debezium Server)"
  log "fetching io.debezium:debezium-server-dist:$DEBEZIUM_VERSION:tar.gz from Maven Central (~780 MB) into $home"
  mkdir -p "$CDC_STACK_RUN"
  local log_file="$CDC_STACK_RUN/debezium-server-install.log"
  # Unpacked into a scratch folder first, so an interrupted fetch is never taken for a complete one.
  rm -rf "$home.tmp" "$home.maven"
  mkdir -p "$home.tmp" "$home.maven"
  # Run from a scratch folder: without a project, the plugin keeps its unpack markers in
  # ./${project.basedir}/target (a literal folder name), which would land in the caller's folder.
  if ! (cd "$home.maven" && mvn -B -Dstyle.color=never org.apache.maven.plugins:maven-dependency-plugin:3.6.1:unpack \
    -Dartifact="io.debezium:debezium-server-dist:$DEBEZIUM_VERSION:tar.gz" \
    -DoutputDirectory="$home.tmp" -Dmdep.overWriteReleases=true >"$log_file" 2>&1); then
    show_log_tail "$log_file"
    die "Maven could not fetch Debezium Server (log: $log_file)"
  fi
  # The archive holds one folder, debezium-server/, with the runner jar, lib/ and config/.
  compgen -G "$home.tmp/debezium-server/debezium-server-dist-*-runner.jar" >/dev/null ||
    die "no debezium-server-dist runner jar in $home.tmp/debezium-server"
  # The 780 MB archive is not needed once unpacked; Maven's local repository would keep a copy of it.
  rm -rf "$HOME/.m2/repository/io/debezium/debezium-server-dist/$DEBEZIUM_VERSION"
  rm -rf "$home.maven"
  touch "$home.tmp/.complete"
  rm -rf "$home"
  mv "$home.tmp" "$home"
  log "installed in $home"
}

# Prints the java binary of the newest JDK of version 21 or later.
find_java() {
  if [[ -n "${CDC_DEBEZIUM_JAVA:-}" ]]; then
    echo "$CDC_DEBEZIUM_JAVA"
    return 0
  fi
  local best='' best_major=0 java major
  for java in /usr/lib/jvm/*/bin/java; do
    [[ -x "$java" ]] || continue
    major=$("$java" -version 2>&1 | sed -n 's/.* version "\([0-9]*\).*/\1/p' | head -n 1)
    if ((${major:-0} > best_major)); then
      best=$java
      best_major=$major
    fi
  done
  ((best_major >= 21)) || die "Debezium Server needs Java 21 or newer; none found under /usr/lib/jvm (set CDC_DEBEZIUM_JAVA)"
  echo "$best"
}

run_server() {
  local dir=$1
  [[ -r "$dir/config/application.properties" ]] || die "no $dir/config/application.properties"
  [[ -f "$home/.complete" ]] || die "Debezium Server is not installed: bash stack/debezium-server.sh install"
  local java runner
  java=$(find_java)
  runner=$(compgen -G "$home/debezium-server/debezium-server-dist-*-runner.jar" | head -n 1)
  cd "$dir"
  # What the distribution's run.sh does from its own folder: the runner jar, config/lib and lib/ on the class path.
  # --add-opens: Java 24 and later refuse the reflective access its libraries make otherwise.
  # exec: the caller's pid is the JVM's, so its memory can be read from /proc and SIGTERM stops it cleanly.
  # shellcheck disable=SC2086 # the heap options are several words
  exec "$java" ${CDC_DEBEZIUM_HEAP_OPTS:--Xmx512m} --add-opens=java.base/java.lang=ALL-UNNAMED \
    -cp "$runner:$home/debezium-server/config/lib:$home/debezium-server/lib/*" io.debezium.server.Main 9>&-
}

case "${1:-}" in
  install) install_server ;;
  describe)
    java=$(find_java)
    echo "Debezium Server $DEBEZIUM_VERSION on $("$java" -version 2>&1 | head -n 1) ($java)"
    ;;
  run)
    (($# == 2)) || die "usage: $0 run DIR"
    run_server "$2"
    ;;
  *) die "usage: $0 install | describe | run DIR" ;;
esac
