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

# $(call debian,COMMAND,PACKAGES): install the Debian PACKAGES unless COMMAND is there, where the
# machine allows it (root with apt-get, as on CI); the package lists are refreshed only if needed.
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends
debian = command -v $(1) >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
  && echo "installing $(2) (Debian)" && { $(APT_INSTALL) $(2) >/dev/null \
  || { apt-get update -qq && $(APT_INSTALL) $(2) >/dev/null; }; }; }

# LibreOffice opens `query --format csv` output as a spreadsheet would; without it (no root) that
# one test says it is skipped and why.
test-packages:
	@$(call debian,soffice,libreoffice-calc-nogui) || echo "note: no LibreOffice; its test is skipped"

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
	@$(call debian,chromium,chromium)
	@$(call debian,pdftoppm,poppler-utils)
	$(VENV)/bin/python docs/screenshots.py

clean:
	rm -rf .tools $(VENV) data/*.duckdb* data/export data/.export.versions data/demo
	# The Dagster instance's runs, events and schedule state (DAGSTER_HOME is the project root).
	rm -rf history storage logs schedules .logs_queue .nux .telemetry
