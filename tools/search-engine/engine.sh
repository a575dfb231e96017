#!/usr/bin/env bash
# Single-node OpenSearch (2.19.6 by default, or 3.9.0) in one JVM, built from Maven Central jars.
# A test engine for logalert's integration suite (no Docker needed).
#
#   engine.sh up       build if needed, start, wait for yellow/green, print the URL
#   engine.sh down     stop the engine started from this state dir, delete its data
#   engine.sh status   print "running ..." (exit 0) or "not running" (exit 3)
#   engine.sh logs     print the tail of the engine's logs
#
# Environment:
#   LOGALERT_ENGINE_VERSION    2 (default: 2.19.6, Java 17+) or 3 (3.9.0, Java 21+): the Maven profile osN,
#                              built into target/ (2) or target-3/ (3)
#   LOGALERT_ENGINE_PORT       HTTP port on 127.0.0.1 (default 9200)
#   LOGALERT_ENGINE_HOME       state dir: pid file, data, logs (default tools/search-engine/.run-$PORT,
#                              .run-v3-$PORT for 3)
#   LOGALERT_ENGINE_TIMEOUT    seconds to wait for the cluster to be ready (default 120)
#   LOGALERT_ENGINE_JAVA_OPTS  extra JVM options (default heap: -Xms512m -Xmx1g)
#   LOGALERT_ENGINE_KEEP_DATA  1: up and down keep the data folder (outage tests restart with data)
#   JAVA_HOME                  Java 17+ (21+ for 3) to use (default: java on PATH; for 3, when that is
#                              older than 21: /usr/lib/jvm/temurin-25-jdk-amd64)
set -euo pipefail

SELF_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
PORT="${LOGALERT_ENGINE_PORT:-9200}"
if ! [[ "$PORT" =~ ^[0-9]+$ ]] || (( PORT < 1 || PORT > 65535 )); then
    echo "engine.sh: invalid LOGALERT_ENGINE_PORT '$PORT' (want 1-65535)" >&2
    exit 2
fi
VERSION="${LOGALERT_ENGINE_VERSION:-2}"
case "$VERSION" in
    2) JAVA_MIN=17; TARGET="$SELF_DIR/target"; RUN_DEFAULT="$SELF_DIR/.run-$PORT" ;;
    3) JAVA_MIN=21; TARGET="$SELF_DIR/target-3"; RUN_DEFAULT="$SELF_DIR/.run-v3-$PORT" ;;
    *) echo "engine.sh: LOGALERT_ENGINE_VERSION=$VERSION: use 2 (OpenSearch 2.19) or 3 (OpenSearch 3.x)" >&2; exit 2 ;;
esac
RUN_HOME="${LOGALERT_ENGINE_HOME:-$RUN_DEFAULT}"
PID_FILE="$RUN_HOME/engine.pid"
ENGINE_LOG="$RUN_HOME/logs/engine.log"
CONSOLE_LOG="$RUN_HOME/logs/console.log"
URL="http://127.0.0.1:$PORT"
TIMEOUT="${LOGALERT_ENGINE_TIMEOUT:-120}"
MAIN_CLASS="dev.logalert.engine.EmbeddedEngine"
BUILD_STAMP="$TARGET/.engine-build-stamp"

say() { echo "engine.sh: $*"; }
err() { echo "engine.sh: $*" >&2; }

# GET $1 (a path) from the engine; prints the body, fails on connection/HTTP errors.
http_get() {
    if command -v curl >/dev/null 2>&1; then
        curl -sf --max-time 5 "$URL$1"
    else
        python3 - "$URL$1" <<'PY'
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
        sys.stdout.write(r.read().decode())
except Exception:
    sys.exit(1)
PY
    fi
}

# True when something accepts TCP connections on 127.0.0.1:$PORT.
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}

# Pid from our pid file when that process is alive and is our engine JVM.
engine_pid() {
    [[ -f "$PID_FILE" ]] || return 1
    local pid
    pid="$(tr -dc '0-9' < "$PID_FILE")"
    [[ -n "$pid" ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    # Guard against pid reuse: the process must be our main class.
    if [[ -r "/proc/$pid/cmdline" ]] && ! tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "$MAIN_CLASS"; then
        return 1
    fi
    echo "$pid"
}

log_tail() {
    local n="${1:-40}"
    if [[ -s "$CONSOLE_LOG" ]]; then
        echo "----- last $n lines of $CONSOLE_LOG -----" >&2
        tail -n "$n" "$CONSOLE_LOG" >&2
    fi
    if [[ -s "$ENGINE_LOG" ]]; then
        echo "----- last $n lines of $ENGINE_LOG -----" >&2
        tail -n "$n" "$ENGINE_LOG" >&2
    fi
    if [[ ! -s "$CONSOLE_LOG" && ! -s "$ENGINE_LOG" ]]; then
        echo "(no engine log under $RUN_HOME/logs)" >&2
    fi
}

java_major() {
    local version major
    version="$("$1" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n1)"
    major="${version%%.*}"
    if [[ "$major" == "1" ]]; then major="$(echo "$version" | cut -d. -f2)"; fi
    echo "$major"
}

# Sets JAVA (and JAVA_HOME for mvn): JAVA_HOME, else java on PATH; OpenSearch 3 falls back to the
# Temurin 25 JDK when those are older than 21.
find_java() {
    local major
    if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
        JAVA="$JAVA_HOME/bin/java"
    elif command -v java >/dev/null 2>&1; then
        JAVA="$(command -v java)"
    else
        JAVA=""
    fi
    major="$([[ -n "$JAVA" ]] && java_major "$JAVA" || true)"
    if (( JAVA_MIN > 17 )) && ! { [[ "$major" =~ ^[0-9]+$ ]] && (( major >= JAVA_MIN )); } \
        && [[ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]]; then
        JAVA=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
        major="$(java_major "$JAVA")"
    fi
    if [[ -z "$JAVA" ]]; then
        err "Java not found. Install a JDK $JAVA_MIN or newer (Debian: apt-get install openjdk-17-jdk-headless for OpenSearch 2) or set JAVA_HOME."
        exit 1
    fi
    if ! [[ "$major" =~ ^[0-9]+$ ]] || (( major < JAVA_MIN )); then
        err "OpenSearch $VERSION needs Java $JAVA_MIN or newer, found '$major' at $JAVA. Set JAVA_HOME to a JDK $JAVA_MIN+ (/usr/lib/jvm/temurin-25-jdk-amd64 on these machines)."
        exit 1
    fi
    JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$JAVA")")")"
    export JAVA_HOME
}

needs_build() {
    [[ -f "$BUILD_STAMP" ]] || return 0
    [[ -f "$TARGET/classes/dev/logalert/engine/EmbeddedEngine.class" ]] || return 0
    compgen -G "$TARGET/dependency/opensearch-$VERSION.*.jar" >/dev/null || return 0
    [[ -n "$(find "$SELF_DIR/pom.xml" "$SELF_DIR/src" -newer "$BUILD_STAMP" -print -quit)" ]] && return 0
    return 1
}

build() {
    if ! command -v mvn >/dev/null 2>&1; then
        err "Maven (mvn) not found; it is needed to fetch the OpenSearch jars and build the engine. Install it (Debian: apt-get install maven)."
        exit 1
    fi
    say "building the OpenSearch $VERSION engine (mvn -Pos$VERSION package; the first build resolves the jars into ~/.m2) ..."
    local started=$SECONDS build_log
    build_log="$(mktemp)"
    rm -rf "$TARGET/dependency" "$BUILD_STAMP"
    if ! (cd "$SELF_DIR" && mvn -q -B "-Pos$VERSION" package -DskipTests) >"$build_log" 2>&1; then
        err "build failed (mvn -q -B -Pos$VERSION package in $SELF_DIR):"
        tail -n 60 "$build_log" >&2
        rm -f "$build_log"
        exit 1
    fi
    rm -f "$build_log"
    touch "$BUILD_STAMP"
    say "built in $((SECONDS - started)) s"
}

# Waits until the cluster is yellow or green; fails (log tail, exit 1) when the JVM dies or on timeout.
wait_ready() {
    local pid="$1" started=$SECONDS health
    while :; do
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid" 2>/dev/null || true
            err "the engine process $pid exited before it was ready (port $PORT)."
            log_tail 40
            rm -f "$PID_FILE"
            exit 1
        fi
        health="$(http_get "/_cluster/health" 2>/dev/null || true)"
        if [[ "$health" =~ \"status\":\"(green|yellow)\" ]]; then
            return 0
        fi
        if (( SECONDS - started >= TIMEOUT )); then
            err "the engine did not become ready within ${TIMEOUT}s at $URL; stopping it (pid $pid)."
            log_tail 40
            stop_pid "$pid" >/dev/null
            rm -f "$PID_FILE"
            exit 1
        fi
        sleep 0.5
    done
}

stop_pid() {
    local pid="$1" i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 40; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.5
    done
    err "pid $pid did not stop within 20 s after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.25
    done
    err "pid $pid is still alive after SIGKILL"
    return 1
}

with_lock() {
    # Serialise concurrent up/down calls for the same state dir when flock exists.
    mkdir -p "$RUN_HOME"
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$RUN_HOME/.lock"
        flock -w 300 9 || { err "could not lock $RUN_HOME/.lock"; exit 1; }
    fi
}

cmd_up() {
    find_java
    with_lock
    local pid
    if pid="$(engine_pid)"; then
        if http_get "/" >/dev/null 2>&1; then
            say "already running at $URL (pid $pid)"
            echo "$URL"
            return 0
        fi
        say "engine pid $pid is starting; waiting for it ..."
        wait_ready "$pid"
        say "ready at $URL (pid $pid)"
        echo "$URL"
        return 0
    fi
    rm -f "$PID_FILE"
    if port_in_use; then
        err "port $PORT on 127.0.0.1 is already in use by another process (not the engine of $RUN_HOME)."
        err "Stop that process or choose another port: LOGALERT_ENGINE_PORT=NNNN $0 up"
        exit 1
    fi
    if needs_build; then
        build
    fi

    [[ "${LOGALERT_ENGINE_KEEP_DATA:-0}" == 1 ]] || rm -rf "$RUN_HOME/data"
    mkdir -p "$RUN_HOME/logs"
    : >"$CONSOLE_LOG"
    : >"$ENGINE_LOG"
    local started=$SECONDS
    local -a java_opts=(-Xms512m -Xmx1g -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError
        -Djava.awt.headless=true -Dfile.encoding=UTF-8 -Dlog4j2.disable.jmx=true
        "-Dlogalert.engine.home=$RUN_HOME")
    # shellcheck disable=SC2206
    [[ -n "${LOGALERT_ENGINE_JAVA_OPTS:-}" ]] && java_opts+=(${LOGALERT_ENGINE_JAVA_OPTS})
    (
        exec 9>&- # do not hand the lock to the JVM
        cd "$RUN_HOME"
        exec nohup setsid "$JAVA" "${java_opts[@]}" -cp "$TARGET/classes:$TARGET/dependency/*" \
            "$MAIN_CLASS" --home "$RUN_HOME" --port "$PORT"
    ) >>"$CONSOLE_LOG" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$PID_FILE"
    say "starting OpenSearch $VERSION (pid $pid, home $RUN_HOME) ..."
    wait_ready "$pid"
    say "ready at $URL in $((SECONDS - started)) s (pid $pid)"
    echo "$URL"
}

cmd_down() {
    if [[ ! -d "$RUN_HOME" ]]; then
        say "not running (port $PORT); nothing to stop"
        return 0
    fi
    with_lock
    local pid
    if pid="$(engine_pid)"; then
        say "stopping the engine (pid $pid, port $PORT) ..."
        stop_pid "$pid" || exit 1
        say "stopped"
    else
        say "not running (port $PORT, home $RUN_HOME); nothing to stop"
    fi
    rm -f "$PID_FILE"
    [[ "${LOGALERT_ENGINE_KEEP_DATA:-0}" == 1 ]] || rm -rf "$RUN_HOME/data"
}

cmd_status() {
    local pid health
    if pid="$(engine_pid)"; then
        health="$(http_get "/_cluster/health" 2>/dev/null || true)"
        if [[ "$health" =~ \"status\":\"([a-z]+)\" ]]; then
            echo "running at $URL (pid $pid, cluster ${BASH_REMATCH[1]})"
        else
            echo "running (pid $pid) but $URL does not answer yet"
        fi
        return 0
    fi
    echo "not running (port $PORT)"
    return 3
}

case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    logs) log_tail "${2:-40}" 2>&1 ;;
    *)
        echo "usage: $0 up|down|status|logs [N]" >&2
        exit 2
        ;;
esac
