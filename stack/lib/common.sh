# shellcheck shell=bash
# Helpers shared by the stack scripts (sourced after stack/env.sh).

# How long to wait for a server to answer before giving up (seconds).
CDC_STACK_WAIT_SECONDS="${CDC_STACK_WAIT_SECONDS:-120}"

say() { printf '[stack] %s\n' "$*"; }
warn() { printf '[stack] WARNING: %s\n' "$*" >&2; }
die() {
  printf '[stack] ERROR: %s\n' "$*" >&2
  exit 1
}

# Prints the last lines of a log file, to show why a server did not come up.
show_log_tail() {
  local file=$1 lines=${2:-40}
  if [[ -s "$file" ]]; then
    printf '[stack] ---- last %s lines of %s ----\n' "$lines" "$file" >&2
    tail -n "$lines" "$file" >&2
    printf '[stack] ----\n' >&2
  fi
}

# Serializes the stack scripts: several engineers or test runs may call
# up.sh / down.sh / restart-service.sh at the same time. Children of the
# holder (up.sh -> install.sh) see CDC_STACK_LOCKED and do not lock again.
take_stack_lock() {
  [[ "${CDC_STACK_LOCKED:-}" == 1 ]] && return 0
  mkdir -p "$CDC_STACK_RUN"
  exec 9>"$CDC_STACK_RUN/stack.lock"
  if ! flock -n 9; then
    say "another stack script is running; waiting for it"
    flock 9
  fi
  export CDC_STACK_LOCKED=1
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Fails when a port the stack needs is taken by a process that is not ours.
require_port_free() {
  local port=$1 what=$2
  if port_open "$port"; then
    die "port $port is already in use by another process, so $what cannot start there (set another port in the environment, see stack/env.sh)"
  fi
}

# Unix socket paths are limited to 107 bytes; a deep checkout would make the
# servers fail with an obscure message.
require_short_socket_path() {
  local path=$1
  if ((${#path} > 100)); then
    die "socket path too long for a Unix socket (${#path} bytes): $path; use a checkout with a shorter path"
  fi
}

# True when process $1 is alive and its command line contains $2 (a stale
# pid file may name a pid that was reused by an unrelated process).
pid_matches() {
  local pid=$1 pattern=$2
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$pattern"
}

read_pid_file() {
  [[ -s "$1" ]] && tr -dc '0-9' <"$1"
}

# Waits up to $1 seconds for process $2 to exit.
wait_for_exit() {
  local timeout=$1 pid=$2 waited=0
  while kill -0 "$pid" 2>/dev/null; do
    ((waited >= timeout * 10)) && return 1
    sleep 0.1
    waited=$((waited + 1))
  done
}

# Copies template $1 to $2, replacing @KEY@ by VALUE for each KEY=VALUE given.
render_template() {
  local template=$1 out=$2 content pair key value
  shift 2
  content=$(<"$template")
  for pair in "$@"; do
    key=${pair%%=*}
    value=${pair#*=}
    # Quoted replacement: bash 5.2 would otherwise expand '&' in it.
    content=${content//"@$key@"/"$value"}
  done
  if [[ "$content" =~ @[A-Z_]+@ ]]; then
    die "unreplaced placeholder ${BASH_REMATCH[0]} in $template"
  fi
  printf '%s\n' "$content" >"$out.tmp"
  mv "$out.tmp" "$out"
}

# Version of Kafka the stack runs: the kafka.version property of the pom.
kafka_version() {
  sed -n 's:.*<kafka\.version>\(.*\)</kafka\.version>.*:\1:p' "$CDC_STACK_DIR/kafka/pom.xml"
}

kafka_libs_dir() {
  echo "$CDC_STACK_CACHE/kafka-$(kafka_version)/libs"
}

# MirrorMaker 2's jars (Kafka Connect runtime + mirror connectors), apart from the broker's.
mirror_libs_dir() {
  echo "$CDC_STACK_CACHE/kafka-$(kafka_version)/mirror-libs"
}
