# shellcheck shell=bash
# Start, stop and health check of the schema registry of the local stack:
# Apicurio Registry (Confluent-compatible API under /apis/ccompat/v7), built
# by stack/install.sh from stack/registry/pom.xml. Storage is in memory, so a
# restart empties it. Sourced by services.sh.

REGISTRY_PID="$CDC_STACK_RUN/registry.pid"
REGISTRY_LOG="$CDC_STACK_RUN/registry.log"

# The runnable jar: the pom's apicurio.version names its folder under stack/.cache.
registry_version() {
  sed -n 's:.*<apicurio\.version>\(.*\)</apicurio\.version>.*:\1:p' "$CDC_STACK_DIR/registry/pom.xml"
}
registry_build_dir() {
  echo "$CDC_STACK_CACHE/apicurio-registry-$(registry_version)"
}
# A legacy-jar (the package type Apicurio's application.properties sets): the runner beside its lib/.
registry_jar() {
  echo "$(registry_build_dir)/cdc-registry-1-runner.jar"
}

registry_pid() {
  local pid
  pid=$(read_pid_file "$REGISTRY_PID") || return 1
  pid_matches "$pid" "-Dquarkus.http.port=$CDC_REGISTRY_PORT -jar" && echo "$pid"
}

registry_running() {
  registry_pid >/dev/null
}

# Ready when the Confluent API answers a real request.
registry_ready() {
  curl -fsS -o /dev/null --max-time 2 "$CDC_REGISTRY_URL/subjects" 2>/dev/null
}

registry_start() {
  if registry_running; then
    say "registry: already running on 127.0.0.1:$CDC_REGISTRY_PORT"
    return 0
  fi
  local jar
  jar=$(registry_jar)
  [[ -f "$jar" ]] || die "schema registry not built ($jar missing): run stack/install.sh"
  require_port_free "$CDC_REGISTRY_PORT" 'the schema registry'
  mkdir -p "$CDC_STACK_RUN"
  say "registry: starting on 127.0.0.1:$CDC_REGISTRY_PORT (log: $REGISTRY_LOG)"
  printf '==== %s: started by stack scripts ====\n' "$(date -u +%FT%TZ)" >>"$REGISTRY_LOG"
  # The port is always given: Quarkus' default is 8080.
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$REGISTRY_PID" \
    java -Xmx256m "-Dquarkus.http.port=$CDC_REGISTRY_PORT" -jar "$jar" \
    </dev/null >>"$REGISTRY_LOG" 2>&1 9>&- &
  local waited=0 pid=''
  until registry_ready; do
    [[ -z "$pid" ]] && pid=$(read_pid_file "$REGISTRY_PID" || true)
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      show_log_tail "$REGISTRY_LOG"
      rm -f "$REGISTRY_PID"
      die "registry exited during startup (log: $REGISTRY_LOG)"
    fi
    if ((waited >= CDC_STACK_WAIT_SECONDS * 10)); then
      show_log_tail "$REGISTRY_LOG"
      die "registry does not answer on $CDC_REGISTRY_URL after ${CDC_STACK_WAIT_SECONDS}s (log: $REGISTRY_LOG)"
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  say "registry: ready"
}

registry_stop() {
  local pid
  if ! pid=$(registry_pid); then
    say "registry: not running"
    rm -f "$REGISTRY_PID"
    return 0
  fi
  say "registry: stopping"
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_for_exit 30 "$pid"; then
    warn "registry (pid $pid) did not stop within 30s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    wait_for_exit 10 "$pid" || die "registry (pid $pid) survived SIGKILL"
  fi
  rm -f "$REGISTRY_PID"
  say "registry: stopped"
}
