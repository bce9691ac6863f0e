# Three commands on a fresh machine: `make demo`, `make dev` and `make test`.
# uv is bootstrapped from PyPI into .tools/ (nothing installed by hand); the project
# environment is .venv/, synced from uv.lock so every machine gets the same versions.
PYTHON ?= python3
UV := .tools/bin/uv
VENV := .venv
STAMP := $(VENV)/.synced
export DAGSTER_HOME ?= $(CURDIR)

.PHONY: demo dev test test-packages lint bench screenshots setup clean

setup: $(STAMP)

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check "uv>=0.13,<0.14"

# --locked: refuse (with uv's message) a pyproject.toml changed without `.tools/bin/uv lock`.
$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --all-groups --quiet
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/python -m pipeline demo

# The Dagster UI on the demo settings (simulator + dg dev); Ctrl-C stops both and exits 0.
DEV_PORT ?= 3000
dev: $(STAMP)
	$(VENV)/bin/python -m pipeline dev --port $(DEV_PORT)

# Debian packages the tests use beyond Python: LibreOffice opens `query --format csv` output as a
# spreadsheet would. Installed when missing where the machine allows it (root with apt-get, as on
# CI); elsewhere the one test that needs it says it is skipped and why.
TEST_PACKAGES := libreoffice-calc-nogui

test-packages:
	@command -v soffice >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && echo "installing $(TEST_PACKAGES) (Debian) for the spreadsheet test" \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	     $(TEST_PACKAGES) >/dev/null; } || echo "note: LibreOffice not installed; its test is skipped"

test: $(STAMP) test-packages
	$(VENV)/bin/python .ci/large_files.py
	$(VENV)/bin/ruff check
	$(VENV)/bin/ruff format --check
	$(VENV)/bin/mypy
	$(VENV)/bin/python -m pytest -q

bench: $(STAMP)
	$(VENV)/bin/python -m bench

# docs/*.png from the demo: the report and the Dagster UI in headless Chromium, the statement PDF
# by pdftoppm. A docs step, not a test one: Debian's packages are installed (as root) only here.
screenshots: $(STAMP)
	@command -v chromium >/dev/null && command -v pdftoppm >/dev/null || { \
	  apt-get update -qq && \
	  apt-get install -y --no-install-recommends chromium poppler-utils; }
	$(VENV)/bin/python docs/screenshots.py

clean:
	rm -rf .tools $(VENV) data/*.duckdb* data/export data/.export.versions data/demo
	# The Dagster instance's runs, events and schedule state (DAGSTER_HOME is the project root).
	rm -rf history storage logs schedules .logs_queue .nux .telemetry
