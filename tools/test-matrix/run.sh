#!/usr/bin/env bash
# Runs the integration suite on every embedded engine version, one after another (each engine is
# started and stopped by the test fixture), then prints one line of figures per engine.
#
#   tools/test-matrix/run.sh [pytest args ...]      (make test-matrix; MATRIX_TESTS picks the tests)
#
# Environment:
#   PY                  the Python with pytest (default .venv/bin/python)
#   MATRIX_ENGINES      space-separated engine:version list
#                       (default "opensearch:2 opensearch:3 elasticsearch:8 elasticsearch:9")
#   MATRIX_TESTS        test paths (default tests/integration); on Elasticsearch the OpenSearch smoke
#                       test file is left out, as in make test-es (no painless/analysis-common there)
#   LOGALERT_TEST_ENGINE_PORT  one port for every engine (they run one at a time); default: per version
# LOGALERT_TEST_MATRIX=1 is set, so the slow connection cases run too.
# Exit status: 0 when every engine's run passed, else 1.
set -uo pipefail
cd "$(dirname "$0")/../.."

PY="${PY:-.venv/bin/python}"
ENGINES="${MATRIX_ENGINES:-opensearch:2 opensearch:3 elasticsearch:8 elasticsearch:9}"
TESTS="${MATRIX_TESTS:-tests/integration}"
OUT_DIR="$(mktemp -d "${TMPDIR:-/tmp}/logalert-matrix.XXXXXX")"
declare -a ROWS=()
overall=0

label() {
    case "$1" in
        opensearch:2) echo "OpenSearch 2.19.6" ;;
        opensearch:3) echo "OpenSearch 3.9.0" ;;
        elasticsearch:9) echo "Elasticsearch 9.2.0" ;;
        elasticsearch:8) echo "Elasticsearch 8.17.0" ;;
        elasticsearch:7) echo "Elasticsearch 7.17.29" ;;
        *) echo "$1" ;;
    esac
}

# "N word" out of pytest's closing line, 0 when absent.
count() { grep -oE "[0-9]+ $1" <<<"$2" | head -1 | grep -oE "^[0-9]+" || echo 0; }

for pair in $ENGINES; do
    engine="${pair%%:*}" version="${pair#*:}"
    log="$OUT_DIR/$engine-$version.log"
    tests=() extra=()
    for t in $TESTS; do
        # The smoke file checks OpenSearch's modules (painless, analysis-common, reindex).
        [ "$engine" = elasticsearch ] && [ "${t%/}" = tests/integration/test_engine_smoke.py ] && continue
        tests+=("$t")
    done
    if [ "$engine" = elasticsearch ]; then
        extra=(--ignore=tests/integration/test_engine_smoke.py)
    fi
    echo "=== $(label "$pair"): pytest ${tests[*]} ${extra[*]} $*"
    started=$SECONDS
    LOGALERT_TEST_MATRIX=1 LOGALERT_TEST_ENGINE="$engine" LOGALERT_TEST_ENGINE_VERSION="$version" \
        "$PY" -m pytest "${tests[@]}" "${extra[@]}" -q -p no:cacheprovider "$@" 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    seconds=$((SECONDS - started))
    summary="$(grep -E "(passed|failed|error|no tests ran)" "$log" | tail -1)"
    [ "$status" -eq 0 ] || overall=1
    ROWS+=("$(printf '%-22s %6s %6s %7s %7s %7s %5ss  exit %s' "$(label "$pair")" \
        "$(count passed "$summary")" "$(count failed "$summary")" "$(count skipped "$summary")" \
        "$(count xfailed "$summary")" "$(count error "$summary")" "$seconds" "$status")")
done

echo
echo "test matrix (logs in $OUT_DIR)"
printf '%-22s %6s %6s %7s %7s %7s %6s\n' engine passed failed skipped xfailed errors time
for row in "${ROWS[@]}"; do echo "$row"; done
exit "$overall"
