# Two commands do all set-up: `make run` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PREFECT_HOME := $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
DB ?= data/news.duckdb
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
QUIET_PIP := { grep -v "^WARNING: Location" || true; }

.PHONY: run serve test bench clean-db browser

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip 2>&1 | $(QUIET_PIP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]' 2>&1 | $(QUIET_PIP)
	$(BIN)/python -c "import flows, prefect, extractors.dispatch, warehouse.load"
	@touch $(STAMP)

run: $(STAMP)
	@$(BIN)/newsflow ingest data/seeds --db $(DB); status=$$?; [ $$status -le 1 ] || exit $$status
	@$(BIN)/newsflow sql --db $(DB) "SELECT left(title, 60) AS title, published_at::DATE AS published, authors, language, word_count FROM articles ORDER BY source_uri LIMIT 5"

serve: $(STAMP)
	$(BIN)/newsflow serve

# The report's browser test renders it in Debian's headless Chromium: installed from Debian when missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo -n"; \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium >/dev/null; }

test: $(STAMP) browser
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --ignore=tests/test_serve.py
	# test_serve.py alone: it checks that a SQLite-backed `newsflow serve` accepts runs requested the moment
	# it lists its deployments, with no 503, which a second test process's load on 2 cores can break
	$(BIN)/python -m pytest -q tests/test_serve.py

bench: $(STAMP)
	$(BIN)/python bench/extraction.py
	$(BIN)/python bench/ingest.py

clean-db:
	rm -f $(DB) $(DB).wal
