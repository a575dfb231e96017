#!/usr/bin/env bash
# Single-node Elasticsearch (9.2.0 by default, or 8.17.0 / 7.17.29) embedded in one JVM,
# built from Maven Central artifacts.
#
#   tools/elasticsearch-engine/engine.sh up      build if needed, start, wait for health yellow/green, print URL
#   tools/elasticsearch-engine/engine.sh down    stop (by pid file) and remove the data
#   tools/elasticsearch-engine/engine.sh status  print whether it runs and its health
#
# Environment:
#   LOGALERT_ENGINE_VERSION   9 (default: 9.2.0), 8 (8.17.0) or 7 (7.17.29): the Maven profile esN, built into
#                             target/ (9) or target-N/, state in .run/ (9) or .run-N/
#   LOGALERT_ENGINE_PORT      HTTP port (default 9200); the transport binds within 19300-19400 on 127.0.0.1
#   LOGALERT_ENGINE_TIMEOUT   seconds to wait for the cluster health (default 120)
#   LOGALERT_ENGINE_HEAP      JVM heap (default 1g)
#   JAVA_HOME                 9 and 8: a JDK 21 or newer (default: first found of JAVA_HOME, temurin-25, any
#                             /usr/lib/jvm JDK >= 21); 7: a JDK 17-21 (default: JAVA_HOME, then /usr/lib/jvm/*17*)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PORT="${LOGALERT_ENGINE_PORT:-9200}"
TIMEOUT="${LOGALERT_ENGINE_TIMEOUT:-120}"
HEAP="${LOGALERT_ENGINE_HEAP:-1g}"
VERSION="${LOGALERT_ENGINE_VERSION:-9}"
case "$VERSION" in
    9) SUFFIX=""; JAVA_MIN=21; JAVA_MAX=99 ;;
    8) SUFFIX="-8"; JAVA_MIN=21; JAVA_MAX=99 ;;
    7) SUFFIX="-7"; JAVA_MIN=17; JAVA_MAX=21 ;;
    *) echo "elasticsearch-engine: LOGALERT_ENGINE_VERSION=$VERSION: use 9, 8 or 7" >&2; exit 2 ;;
esac
TARGET="$HERE/target$SUFFIX"
RUN_DIR="$HERE/.run$SUFFIX"
PID_FILE="$RUN_DIR/engine.pid"
PORT_FILE="$RUN_DIR/engine.port"
HOME_DIR="$RUN_DIR/home"
LOG_FILE="$RUN_DIR/engine.log"
URL="http://127.0.0.1:$PORT"

die() { echo "elasticsearch-engine: $*" >&2; exit 1; }

java_feature() { "$1" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1; }

find_java_home() {
    local c v
    for c in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*17* /usr/lib/jvm/*; do
        [ -n "$c" ] && [ -x "$c/bin/java" ] && [ -x "$c/bin/javac" ] || continue
        v="$(java_feature "$c/bin/java")"
        if [ -n "$v" ] && [ "$v" -ge "$JAVA_MIN" ] && [ "$v" -le "$JAVA_MAX" ]; then echo "$c"; return 0; fi
    done
    return 1
}

running_pid() {
    [ -f "$PID_FILE" ] || return 1
    local pid; pid="$(cat "$PID_FILE")"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

health() { { curl -fsS --max-time 5 "$1/_cluster/health" 2>/dev/null || true; } | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p'; }

build() {
    command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
    local stamp="$TARGET/.built"
    if [ -f "$stamp" ] && [ -z "$(find "$HERE/src" "$HERE/pom.xml" -newer "$stamp" -print -quit)" ]; then
        return 0
    fi
    echo "elasticsearch-engine: building Elasticsearch $VERSION (mvn -Pes$VERSION package) ..." >&2
    (cd "$HERE" && JAVA_HOME="$JH" mvn -q -B "-Pes$VERSION" package -DskipTests) >"$RUN_DIR/build.log" 2>&1 \
        || { tail -40 "$RUN_DIR/build.log" >&2; die "build failed (full log: $RUN_DIR/build.log)"; }
    touch "$stamp"
}

cmd_up() {
    mkdir -p "$RUN_DIR"
    local pid
    if pid="$(running_pid)"; then
        local p; p="$(cat "$PORT_FILE" 2>/dev/null || echo "$PORT")"
        echo "elasticsearch-engine: already running (pid $pid) at http://127.0.0.1:$p" >&2
        echo "http://127.0.0.1:$p"
        return 0
    fi
    command -v curl >/dev/null || die "curl not found"
    if [ "$VERSION" = 7 ]; then
        JH="$(find_java_home)" || die "no JDK 17-21 found; set JAVA_HOME (Elasticsearch 7.17 runs on Java 17; apt-get install openjdk-17-jdk-headless)"
    else
        JH="$(find_java_home)" || die "no JDK 21+ found; set JAVA_HOME (Elasticsearch $VERSION needs Java 21 or newer; /usr/lib/jvm/temurin-25-jdk-amd64 on these machines)"
    fi
    if curl -s --max-time 2 -o /dev/null "$URL/"; then
        die "port $PORT is already in use by another process; set LOGALERT_ENGINE_PORT"
    fi
    build
    rm -rf "$HOME_DIR"
    mkdir -p "$HOME_DIR"
    local -a jvm_opts=(-Xms"$HEAP" -Xmx"$HEAP" -Djava.awt.headless=true -Dfile.encoding=UTF-8)
    [ "$VERSION" = 7 ] || jvm_opts+=(--enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector)
    nohup "$JH/bin/java" "${jvm_opts[@]}" \
        -cp "$TARGET/classes:$TARGET/lib/*" \
        logalert.esengine.EngineMain "$HOME_DIR" "$PORT" >"$LOG_FILE" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$PID_FILE"
    echo "$PORT" >"$PORT_FILE"
    local deadline=$((SECONDS + TIMEOUT)) st=""
    while [ $SECONDS -lt $deadline ]; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$PID_FILE"
            tail -30 "$LOG_FILE" >&2
            die "engine process exited during startup (log: $LOG_FILE)"
        fi
        st="$(health "$URL")"
        if [ "$st" = green ] || [ "$st" = yellow ]; then
            echo "elasticsearch-engine: up (pid $pid, health $st)" >&2
            echo "$URL"
            return 0
        fi
        sleep 1
    done
    tail -30 "$LOG_FILE" >&2
    kill "$pid" 2>/dev/null || true
    die "cluster health not yellow/green after ${TIMEOUT}s (log: $LOG_FILE)"
}

cmd_down() {
    local pid
    if pid="$(running_pid)"; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
        if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
        echo "elasticsearch-engine: stopped (pid $pid)" >&2
    else
        echo "elasticsearch-engine: not running" >&2
    fi
    rm -f "$PID_FILE" "$PORT_FILE"
    rm -rf "$HOME_DIR"
}

cmd_status() {
    local pid p st
    if pid="$(running_pid)"; then
        p="$(cat "$PORT_FILE" 2>/dev/null || echo "$PORT")"
        st="$(health "http://127.0.0.1:$p")"
        echo "running (pid $pid) at http://127.0.0.1:$p health=${st:-unknown}"
        return 0
    fi
    echo "not running"
    return 1
}

case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
