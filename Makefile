# logalert — the commands that matter. Everything installs what it needs itself.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
ENGINE ?= opensearch
PORT   ?= 9200
ENGINE_SH := tools/$(if $(filter elasticsearch,$(ENGINE)),elasticsearch-engine,search-engine)/engine.sh

.PHONY: install test test-unit test-integration test-es test-matrix engine-up engine-down demo validate bench soak clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

# The test command: unit tests, then integration tests against the embedded OpenSearch
# (the fixture starts it on 127.0.0.1:9250 and stops it afterwards), then the unit tests of
# the repository's own rules, run as a user's CI runs them (offline).
test: install
	$(PY) -m pytest tests
	$(VENV)/bin/logalert test tests/rules/*.yaml

test-unit: install
	$(PY) -m pytest tests/unit

# logalert's integration tests against official Elasticsearch 9.2 (embedded, Java 25).
test-es: install
	LOGALERT_TEST_ENGINE=elasticsearch $(PY) -m pytest tests/integration --ignore=tests/integration/test_engine_smoke.py

# The integration suite (with LOGALERT_TEST_MATRIX=1: the slow connection cases too) on every
# embedded engine version, one after another: OpenSearch 2.19 and 3.x, Elasticsearch 8.17 and 9.2;
# a table of figures per engine at the end. MATRIX_ENGINES="opensearch:3 elasticsearch:7" picks
# others, MATRIX_TESTS="tests/integration/engine" a part of the suite.
test-matrix: install
	PY=$(PY) bash tools/test-matrix/run.sh

engine-up:
	LOGALERT_ENGINE_PORT=$(PORT) bash $(ENGINE_SH) up

engine-down:
	LOGALERT_ENGINE_PORT=$(PORT) bash $(ENGINE_SH) down

validate: install
	$(VENV)/bin/logalert validate rules

# Demo: embedded engine on 127.0.0.1:$(PORT), sample EFK logs (more every 10 s), and the
# daemon with ./config.yaml and ./rules printing alerts on stdout, with the web console on
# 127.0.0.1:$(WEB_PORT) and a token generated for this run. Ctrl-C stops all of it.
WEB_PORT ?= 8090
demo: install
	@LOGALERT_ENGINE_PORT=$(PORT) bash $(ENGINE_SH) up
	@set -m; trap 'kill $$loader 2>/dev/null; LOGALERT_ENGINE_PORT=$(PORT) bash $(ENGINE_SH) down' EXIT; trap 'exit 130' INT TERM; \
	  token=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(24))'); \
	  printf '\n  Web console: http://127.0.0.1:$(WEB_PORT)/  (up a few seconds after the daemon starts)\n  Token:       %s\n\n' "$$token"; \
	  $(PY) tools/demo/load_logs.py --url http://127.0.0.1:$(PORT) --follow & loader=$$!; \
	  sleep 2; LOGALERT_ES_PORT=$(PORT) LOGALERT_WEB_PORT=$(WEB_PORT) LOGALERT_WEB_TOKEN="$$token" \
	  $(VENV)/bin/logalert run --config config.yaml

bench: install
	$(PY) benchmarks/run.py $(BENCH_ARGS)

# Both daemons over a live log stream, one after the other (benchmarks/README.md, "Soak"):
# N = 200 and 1,000 rules, 30 min per tool and N; SOAK_ARGS=--quick: N = 200, 5 min each.
soak: install
	$(PY) benchmarks/soak.py $(SOAK_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
