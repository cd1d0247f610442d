# shellcheck shell=bash
# Start, stop and health checks of the three servers of the local stack.
# Sourced by up.sh, down.sh and restart-service.sh after env.sh and common.sh.
# Each server runs as a plain background process (no systemd, no Docker).

# ---------------------------------------------------------------------------
# PostgreSQL 15
# ---------------------------------------------------------------------------

PG_BIN=/usr/lib/postgresql/15/bin
# Where these live is decided in env.sh (outside the checkout when root).
PG_DATA="$CDC_PG_DATA"
PG_SOCKET_DIR="$CDC_PG_SOCKET_DIR"
PG_LOG="$CDC_PG_LOG"
PG_DATABASES=(cdc_source cdc_replica)

# PostgreSQL refuses to run as root: as root, its commands run as the
# `postgres` OS user (created by the Debian package); otherwise as ourselves.
# `cd /` because the caller's directory may be unreadable to that user, which
# makes initdb and pg_ctl fail.
as_pg_user() {
  if ((EUID == 0)); then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

# Makes $@ (directories or files) belong to the user PostgreSQL runs as.
give_to_pg_user() {
  if ((EUID == 0)); then chown postgres:postgres "$@"; fi
}

# Creates PostgreSQL's own folder outside the checkout (env.sh says when),
# owned by the postgres OS user and closed to everyone else, and links its log
# into stack/.run where the other logs are.
postgres_prepare_dir() {
  [[ -n "$CDC_STACK_PG_DIR" && "$PG_DATA" == "$CDC_STACK_PG_DIR"/* ]] || return 0
  if [[ ! -e "$CDC_STACK_PG_DIR" ]]; then
    mkdir -p "$(dirname "$CDC_STACK_PG_DIR")"
    mkdir -m 700 "$CDC_STACK_PG_DIR"
    give_to_pg_user "$CDC_STACK_PG_DIR"
  fi
  if [[ -L "$CDC_STACK_PG_DIR" || ! -d "$CDC_STACK_PG_DIR" ]] \
    || [[ "$(stat -c %U "$CDC_STACK_PG_DIR")" != postgres ]]; then
    die "$CDC_STACK_PG_DIR must be a folder of the postgres OS user; move it away and start again"
  fi
  printf '%s\n' "$CDC_ROOT" >"$CDC_STACK_PG_DIR/checkout"
  ln -sfn "$PG_LOG" "$CDC_STACK_RUN/postgres.log"
}

postgres_running() {
  [[ -f "$PG_DATA/PG_VERSION" ]] && as_pg_user "$PG_BIN/pg_ctl" status -D "$PG_DATA" >/dev/null 2>&1
}

postgres_ready() {
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$CDC_PG_PORT" -U postgres -d postgres -t 2
}

postgres_psql() {
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$CDC_PG_PORT" -U postgres "$@"
}

# Creates the cluster once. initdb works in a scratch folder that is moved in
# place only when complete, so an interrupted run never leaves half a cluster.
postgres_init() {
  [[ -f "$PG_DATA/PG_VERSION" ]] && return 0
  [[ -e "$PG_DATA" ]] && die "$PG_DATA exists but holds no cluster; remove it (or run stack/down.sh --wipe)"
  local scratch="$PG_DATA.init"
  say "postgres: creating the cluster in $PG_DATA"
  rm -rf "$scratch"
  mkdir -p "$scratch"
  chmod 700 "$scratch"
  give_to_pg_user "$scratch"
  if ! as_pg_user test -w "$scratch"; then
    die "the postgres OS user cannot write $scratch: make every parent folder of it traversable (chmod o+x)"
  fi
  if ! as_pg_user "$PG_BIN/initdb" -D "$scratch" -U postgres --auth=trust --encoding=UTF8 \
    --locale=C.UTF-8 >"$CDC_STACK_RUN/postgres-initdb.log" 2>&1; then
    show_log_tail "$CDC_STACK_RUN/postgres-initdb.log"
    die "postgres: initdb failed (log: $CDC_STACK_RUN/postgres-initdb.log)"
  fi
  # Our settings live in cdc.conf, rewritten from stack/postgres/postgresql.conf
  # at every start; included last so they win over initdb's defaults.
  printf "\n# Settings of the local CDC stack (stack/postgres/postgresql.conf).\ninclude 'cdc.conf'\n" \
    | as_pg_user tee -a "$scratch/postgresql.conf" >/dev/null
  mv "$scratch" "$PG_DATA"
}

postgres_start() {
  if postgres_running; then
    say "postgres: already running on 127.0.0.1:$CDC_PG_PORT"
    return 0
  fi
  require_port_free "$CDC_PG_PORT" postgres
  require_short_socket_path "$PG_SOCKET_DIR/.s.PGSQL.$CDC_PG_PORT"
  mkdir -p "$CDC_STACK_DATA" "$CDC_STACK_RUN"
  postgres_prepare_dir
  mkdir -p "$PG_SOCKET_DIR"
  touch "$PG_LOG"
  give_to_pg_user "$PG_SOCKET_DIR" "$PG_LOG"
  postgres_init

  render_template "$CDC_STACK_DIR/postgres/postgresql.conf" "$PG_DATA/cdc.conf" \
    PG_PORT="$CDC_PG_PORT" PG_SOCKET_DIR="$PG_SOCKET_DIR"
  cp "$CDC_STACK_DIR/postgres/pg_hba.conf" "$PG_DATA/pg_hba.conf"
  give_to_pg_user "$PG_DATA/cdc.conf" "$PG_DATA/pg_hba.conf"

  say "postgres: starting on 127.0.0.1:$CDC_PG_PORT (log: $PG_LOG)"
  # pg_ctl detaches the server from our session and returns when it accepts
  # connections, or as soon as it fails.
  if ! as_pg_user "$PG_BIN/pg_ctl" start -D "$PG_DATA" -l "$PG_LOG" -w -t "$CDC_STACK_WAIT_SECONDS" -s 9>&-; then
    show_log_tail "$PG_LOG"
    die "postgres did not start within ${CDC_STACK_WAIT_SECONDS}s (log: $PG_LOG)"
  fi
  local waited=0
  until postgres_ready; do
    if ((waited >= CDC_STACK_WAIT_SECONDS)); then
      show_log_tail "$PG_LOG"
      die "postgres does not answer on 127.0.0.1:$CDC_PG_PORT after ${CDC_STACK_WAIT_SECONDS}s (log: $PG_LOG)"
    fi
    sleep 1
    waited=$((waited + 1))
  done

  local db
  for db in "${PG_DATABASES[@]}"; do
    if [[ -z "$(postgres_psql -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]]; then
      say "postgres: creating database $db"
      postgres_psql -d postgres -c "CREATE DATABASE $db"
    fi
  done
  say "postgres: ready"
}

postgres_stop() {
  if ! postgres_running; then
    say "postgres: not running"
    return 0
  fi
  say "postgres: stopping"
  # fast: rolls back open transactions, disconnects clients, checkpoints.
  if as_pg_user "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 10 -s 2>/dev/null; then
    say "postgres: stopped"
    return 0
  fi
  # Still running: a logical walsender keeps the shutdown waiting until its
  # client confirms the WAL up to the shutdown checkpoint. Our connector does
  # so when it has nothing unacknowledged; one that is busy (or hung) may not.
  # Terminating the walsenders lets the shutdown finish; nothing is lost, the
  # slots keep their confirmed positions.
  local postmaster pid
  postmaster=$(head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)
  warn "postgres: still shutting down after 10s; terminating its walsenders"
  if [[ "$postmaster" =~ ^[0-9]+$ ]]; then
    for pid in $(ps -o pid=,args= --ppid "$postmaster" | awk '$2 == "postgres:" && $3 == "walsender" { print $1 }'); do
      kill -TERM "$pid" 2>/dev/null || true
    done
  fi
  if as_pg_user "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 60 -s 2>/dev/null; then
    say "postgres: stopped"
    return 0
  fi
  # Last resort: like a crash; the next start recovers from the WAL.
  warn "postgres: still running after 70s; stopping it with -m immediate"
  if ! as_pg_user "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m immediate -w -t 30 -s; then
    show_log_tail "$PG_LOG"
    die "postgres did not stop (log: $PG_LOG)"
  fi
  say "postgres: stopped (immediate)"
}

# ---------------------------------------------------------------------------
# MariaDB 10.11
# ---------------------------------------------------------------------------

MARIADB_DATA="$CDC_STACK_DATA/mariadb"
MARIADB_CNF="$CDC_STACK_RUN/mariadb.cnf"
MARIADB_SOCKET="$CDC_STACK_RUN/mariadb.sock"
MARIADB_PID="$CDC_STACK_RUN/mariadb.pid"
MARIADB_ERR="$CDC_STACK_RUN/mariadb.err"

# mariadbd refuses to run as root unless told to with --user=root. Running it
# as the invoking user (root in CI containers) avoids handing the checkout to
# the mysql OS user.
mariadb_user_args() {
  if ((EUID == 0)); then echo --user=root; fi
}

mariadb_render_cnf() {
  mkdir -p "$CDC_STACK_RUN"
  render_template "$CDC_STACK_DIR/mariadb/my.cnf" "$MARIADB_CNF" \
    MARIADB_DATA="$1" MARIADB_PORT="$CDC_MARIADB_PORT" MARIADB_SOCKET="$MARIADB_SOCKET" \
    MARIADB_PID="$MARIADB_PID" MARIADB_ERR="$MARIADB_ERR"
}

mariadb_pid() {
  local pid
  pid=$(read_pid_file "$MARIADB_PID") || return 1
  pid_matches "$pid" "$MARIADB_CNF" && echo "$pid"
}

mariadb_running() {
  mariadb_pid >/dev/null
}

# Answers over the socket (mariadb-admin ping is true even when access is denied).
mariadb_alive() {
  mariadb-admin --defaults-file="$MARIADB_CNF" --connect-timeout=2 ping >/dev/null 2>&1
}

# What clients do: root without a password over TCP.
mariadb_tcp_login() {
  mariadb --no-defaults --protocol=tcp -h 127.0.0.1 -P "$CDC_MARIADB_PORT" -u root \
    --connect-timeout=2 -e 'SELECT 1' >/dev/null 2>&1
}

# Creates the data folder once, in a scratch folder moved in place when
# complete. Root gets no password (--auth-root-authentication-method=normal).
mariadb_init() {
  [[ -d "$MARIADB_DATA/mysql" ]] && return 0
  [[ -e "$MARIADB_DATA" ]] && die "$MARIADB_DATA exists but holds no database; remove it (or run stack/down.sh --wipe)"
  local scratch="$CDC_STACK_DATA/mariadb.init"
  say "mariadb: creating the data folder $MARIADB_DATA"
  rm -rf "$scratch"
  mkdir -p "$scratch"
  mariadb_render_cnf "$scratch"
  # shellcheck disable=SC2046 # no argument or one
  if ! mariadb-install-db --defaults-file="$MARIADB_CNF" $(mariadb_user_args) \
    --auth-root-authentication-method=normal --skip-test-db \
    >"$CDC_STACK_RUN/mariadb-install.log" 2>&1; then
    show_log_tail "$CDC_STACK_RUN/mariadb-install.log"
    die "mariadb: mariadb-install-db failed (log: $CDC_STACK_RUN/mariadb-install.log)"
  fi
  mv "$scratch" "$MARIADB_DATA"
}

mariadb_start() {
  if mariadb_running; then
    say "mariadb: already running on 127.0.0.1:$CDC_MARIADB_PORT"
    return 0
  fi
  require_port_free "$CDC_MARIADB_PORT" mariadb
  require_short_socket_path "$MARIADB_SOCKET"
  mkdir -p "$CDC_STACK_DATA" "$CDC_STACK_RUN"
  mariadb_init
  mariadb_render_cnf "$MARIADB_DATA"
  rm -f "$MARIADB_PID"
  printf '==== %s: started by stack scripts ====\n' "$(date -u +%FT%TZ)" >>"$MARIADB_ERR"

  say "mariadb: starting on 127.0.0.1:$CDC_MARIADB_PORT (log: $MARIADB_ERR)"
  # setsid: the server leaves our process group, so it survives the end of
  # this script and a Ctrl-C in the terminal that started it. The launcher
  # writes its own pid (which becomes mariadbd's) to watch it during startup.
  # 9>&- (here and for the other servers): a server must not inherit the
  # stack lock's descriptor, or it would hold the lock for its whole life.
  # shellcheck disable=SC2016,SC2046
  setsid bash -c 'echo $$ >"$0.launch"; exec "$@"' "$MARIADB_PID" \
    mariadbd --defaults-file="$MARIADB_CNF" $(mariadb_user_args) \
    </dev/null >>"$MARIADB_ERR" 2>&1 9>&- &
  local waited=0 pid=''
  until mariadb_alive; do
    [[ -z "$pid" ]] && pid=$(read_pid_file "$MARIADB_PID.launch" || true)
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      show_log_tail "$MARIADB_ERR"
      die "mariadb exited during startup (log: $MARIADB_ERR)"
    fi
    if ((waited >= CDC_STACK_WAIT_SECONDS * 2)); then
      show_log_tail "$MARIADB_ERR"
      die "mariadb does not answer after ${CDC_STACK_WAIT_SECONDS}s (log: $MARIADB_ERR)"
    fi
    sleep 0.5
    waited=$((waited + 1))
  done
  rm -f "$MARIADB_PID.launch"
  chmod a+r "$MARIADB_ERR" # mariadbd creates it 0660

  # Root over TCP from 127.0.0.1 without a password, as the URLs expect. Not
  # written to the binlog (sql_log_bin=0): connectors must not see it.
  if ! mariadb_tcp_login; then
    say "mariadb: allowing root@127.0.0.1 without a password (local dev stack only)"
    mariadb --defaults-file="$MARIADB_CNF" -e "
      SET SESSION sql_log_bin = 0;
      CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
      GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
    mariadb_tcp_login || die "mariadb: root cannot log in over TCP on 127.0.0.1:$CDC_MARIADB_PORT"
  fi
  say "mariadb: ready"
}

mariadb_stop() {
  local pid
  if ! pid=$(mariadb_pid); then
    say "mariadb: not running"
    rm -f "$MARIADB_PID"
    return 0
  fi
  say "mariadb: stopping"
  # A clean shutdown over the socket; SIGTERM (also clean) when that fails.
  mariadb-admin --defaults-file="$MARIADB_CNF" --connect-timeout=5 shutdown >/dev/null 2>&1 \
    || kill -TERM "$pid" 2>/dev/null || true
  if ! wait_for_exit 120 "$pid"; then
    show_log_tail "$MARIADB_ERR"
    die "mariadb (pid $pid) did not stop within 120s"
  fi
  say "mariadb: stopped"
}

# ---------------------------------------------------------------------------
# Kafka (KRaft, single combined broker + controller)
# ---------------------------------------------------------------------------

KAFKA_DATA="$CDC_STACK_DATA/kafka"
KAFKA_PROPERTIES="$CDC_STACK_RUN/kafka.properties"
KAFKA_PID="$CDC_STACK_RUN/kafka.pid"
KAFKA_LOG="$CDC_STACK_RUN/kafka.log" # written by log4j2 (stack/kafka/log4j2.xml)
KAFKA_OUT="$CDC_STACK_RUN/kafka.out" # the JVM's own stdout/stderr
KAFKA_HEAP_OPTS="${CDC_KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}"
KAFKA_FORMAT_ARGS=()

# Points the kafka_* functions at another single-node cluster started on
# demand (stack/kafka2.sh, stack/kafka-secure.sh): its ports, its log folder
# $4, and its pid file and logs in stack/.run/$1/.
kafka_use_instance() {
  local name=$1
  CDC_KAFKA_PORT=$2
  CDC_KAFKA_CONTROLLER_PORT=$3
  KAFKA_DATA=$4
  KAFKA_PROPERTIES="$CDC_STACK_RUN/$name/kafka.properties"
  KAFKA_PID="$CDC_STACK_RUN/$name/kafka.pid"
  KAFKA_LOG="$CDC_STACK_RUN/$name/kafka.log"
  KAFKA_OUT="$CDC_STACK_RUN/$name/kafka.out"
  # A test cluster holding a few small topics.
  KAFKA_HEAP_OPTS=$5
}

kafka_java() {
  local libs
  libs=$(kafka_libs_dir)
  [[ -d "$libs" ]] || die "Kafka jars missing in $libs: run stack/install.sh"
  java -cp "$libs/*" "$@"
}

kafka_render_properties() {
  mkdir -p "$CDC_STACK_RUN"
  render_template "$CDC_STACK_DIR/kafka/server.properties" "$KAFKA_PROPERTIES" \
    KAFKA_PORT="$CDC_KAFKA_PORT" KAFKA_CONTROLLER_PORT="$CDC_KAFKA_CONTROLLER_PORT" KAFKA_DATA="$1"
  # A broker with settings of its own (stack/kafka-secure.sh: more listeners) appends them: in a
  # properties file the last value of a key wins.
  if [[ -n "${KAFKA_PROPERTIES_EXTRA:-}" ]]; then
    cat "$KAFKA_PROPERTIES_EXTRA" >>"$KAFKA_PROPERTIES"
  fi
}

kafka_pid() {
  local pid
  pid=$(read_pid_file "$KAFKA_PID") || return 1
  pid_matches "$pid" "$KAFKA_PROPERTIES" && echo "$pid"
}

kafka_running() {
  kafka_pid >/dev/null
}

# The broker answers real requests through kafkajs (the client the service
# uses), and its group and transaction coordinators answer too:
#   - metadata (listTopics);
#   - OffsetFetch: creates __consumer_offsets on a new cluster and fails
#     until its coordinator is loaded;
#   - InitProducerId of a transactional producer: the same for
#     __transaction_state.
# Right after a start the coordinators are still loading, and kafkajs 2.2.4
# does not retry every "coordinator loading / moved" error (not in
# transaction.sendOffsets), so "ready" has to include them. Each attempt is
# short (10 s at most); kafka_start repeats it until its time limit.
# Without node_modules: the log line printed when startup completes.
# (Inline rather than a .ts file: the linted TypeScript project excludes stack/.)
kafka_ready() {
  if [[ -f "$CDC_ROOT/node_modules/kafkajs/package.json" ]] && command -v node >/dev/null; then
    (cd "$CDC_ROOT" && node --input-type=module - "127.0.0.1:$CDC_KAFKA_PORT" >/dev/null 2>&1) <<'JS'
import { Kafka, logLevel } from 'kafkajs';
const kafka = new Kafka({
  clientId: 'cdc-stack-ready',
  brokers: [process.argv[2]],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 2000,
  requestTimeout: 5000,
  // Coordinator lookups start with a metadata refresh and need a retry; an
  // idempotent producer refuses to exist without retries.
  retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
});
setTimeout(() => process.exit(1), 10_000).unref();
const admin = kafka.admin();
const producer = kafka.producer({ transactionalId: 'cdc-stack-ready', idempotent: true, maxInFlightRequests: 1 });
try {
  await admin.connect();
  await admin.listTopics();
  await admin.fetchOffsets({ groupId: 'cdc-stack-ready', topics: [] });
  await producer.connect();
} catch (error) {
  console.error(String(error));
  process.exitCode = 1;
} finally {
  await producer.disconnect().catch(() => {});
  await admin.disconnect().catch(() => {});
}
JS
  else
    port_open "$CDC_KAFKA_PORT" && grep -q 'Kafka Server started' "$KAFKA_LOG" 2>/dev/null
  fi
}

# Formats the log folder once (a new cluster id), in a scratch folder moved in
# place when complete.
kafka_format() {
  [[ -f "$KAFKA_DATA/meta.properties" ]] && return 0
  [[ -e "$KAFKA_DATA" ]] && die "$KAFKA_DATA exists but is not a formatted Kafka log folder; remove it (or run stack/down.sh --wipe)"
  local scratch="$KAFKA_DATA.init" cluster_id
  say "kafka: formatting $KAFKA_DATA"
  rm -rf "$scratch"
  kafka_render_properties "$scratch"
  cluster_id=$(kafka_java kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
  # KAFKA_FORMAT_ARGS: more arguments of the storage tool (SCRAM users, --add-scram).
  if ! kafka_java kafka.tools.StorageTool format --standalone --cluster-id "$cluster_id" \
    --config "$KAFKA_PROPERTIES" "${KAFKA_FORMAT_ARGS[@]}" >"$KAFKA_LOG.format" 2>&1; then
    show_log_tail "$KAFKA_LOG.format"
    die "kafka: formatting the log folder failed (log: $KAFKA_LOG.format)"
  fi
  mv "$scratch" "$KAFKA_DATA"
}

kafka_start() {
  if kafka_running; then
    say "kafka: already running on 127.0.0.1:$CDC_KAFKA_PORT"
    return 0
  fi
  require_port_free "$CDC_KAFKA_PORT" kafka
  require_port_free "$CDC_KAFKA_CONTROLLER_PORT" "kafka's controller"
  command -v java >/dev/null || die "java not found: run stack/install.sh (or apt-get install openjdk-17-jre-headless)"
  mkdir -p "$CDC_STACK_DATA" "$CDC_STACK_RUN"
  kafka_format
  kafka_render_properties "$KAFKA_DATA"

  say "kafka: starting on 127.0.0.1:$CDC_KAFKA_PORT (log: $KAFKA_LOG)"
  local libs
  libs=$(kafka_libs_dir)
  # Marks where this start begins, so a log tail never blames an old run.
  printf '==== %s: started by stack scripts ====\n' "$(date -u +%FT%TZ)" | tee -a "$KAFKA_LOG" >>"$KAFKA_OUT"
  # The JVM options of Kafka's own kafka-server-start.sh, with a smaller heap.
  # shellcheck disable=SC2016,SC2086
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$KAFKA_PID" \
    java $KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dkafka.logs.dir="$(dirname "$KAFKA_LOG")" -Dlog4j2.configurationFile="$CDC_STACK_DIR/kafka/log4j2.xml" \
    -cp "$libs/*" kafka.Kafka "$KAFKA_PROPERTIES" \
    </dev/null >>"$KAFKA_OUT" 2>&1 9>&- &
  local waited=0 pid=''
  until kafka_ready; do
    [[ -z "$pid" ]] && pid=$(read_pid_file "$KAFKA_PID" || true)
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      show_log_tail "$KAFKA_LOG"
      show_log_tail "$KAFKA_OUT" 20
      rm -f "$KAFKA_PID"
      die "kafka exited during startup (logs: $KAFKA_LOG, $KAFKA_OUT)"
    fi
    if ((waited >= CDC_STACK_WAIT_SECONDS)); then
      show_log_tail "$KAFKA_LOG"
      show_log_tail "$KAFKA_OUT" 20
      die "kafka does not answer on 127.0.0.1:$CDC_KAFKA_PORT after ${CDC_STACK_WAIT_SECONDS}s (logs: $KAFKA_LOG, $KAFKA_OUT)"
    fi
    sleep 1
    waited=$((waited + 1))
  done
  say "kafka: ready"
}

kafka_stop() {
  local pid
  if ! pid=$(kafka_pid); then
    say "kafka: not running"
    rm -f "$KAFKA_PID"
    return 0
  fi
  say "kafka: stopping"
  # SIGTERM is Kafka's clean shutdown (what kafka-server-stop.sh sends).
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_for_exit 120 "$pid"; then
    warn "kafka (pid $pid) did not stop within 120s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    wait_for_exit 10 "$pid" || die "kafka (pid $pid) survived SIGKILL"
  fi
  rm -f "$KAFKA_PID"
  say "kafka: stopped"
}

# ---------------------------------------------------------------------------

# shellcheck source=registry.sh
. "$CDC_STACK_DIR/lib/registry.sh"

# Addresses, for the end of up.sh.
print_stack_summary() {
  cat <<EOF
[stack] running:
  PostgreSQL 15   127.0.0.1:$CDC_PG_PORT   source $CDC_PG_SOURCE_URL
                                    replica $CDC_PG_REPLICA_URL
                                    admin $CDC_PG_ADMIN_URL
  MariaDB 10.11   127.0.0.1:$CDC_MARIADB_PORT   $CDC_MARIADB_URL
  Kafka $(kafka_version)     127.0.0.1:$CDC_KAFKA_PORT   brokers $CDC_KAFKA_BROKERS
  Apicurio $(registry_version)  127.0.0.1:$CDC_REGISTRY_PORT   $CDC_REGISTRY_URL
  logs: $CDC_STACK_RUN/{postgres.log,mariadb.err,kafka.log,registry.log}
  environment: . $CDC_STACK_DIR/env.sh
EOF
}
