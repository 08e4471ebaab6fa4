# ILS: two commands on a fresh machine with Python 3.11 — `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test check bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	@# Headless Chromium for the dashboard's browser test (Debian packages; root only, else skipped).
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && ! command -v chromedriver >/dev/null 2>&1; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) \
		|| echo "chromium could not be installed: the browser test will be skipped"; fi
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/ils up --demo

check: $(STAMP)
	$(BIN)/ruff check ils actors tests bench
	$(BIN)/ruff format --check ils actors tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: check
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	@for b in bench/*.py; do n=$$(basename $$b .py); [ "$$n" = "__init__" ] && continue; \
		echo "== $$n"; $(BIN)/ils bench $$n --quick || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
