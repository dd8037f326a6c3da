# Two commands: `make run` (install, migrate, serve the live demo) and `make test`;
# `make lint` runs ruff (configured in pyproject.toml).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ADDR ?= 127.0.0.1:8000

.PHONY: run test lint install install-test bench-backend bench-insights screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements.txt requirements-test.txt | $(BIN)/python
	$(BIN)/pip install -r requirements-test.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# Migrate the database, then run workers, beat, a demo task sender and the
# web server until Ctrl-C (see demo/management/commands/rundemo.py), on the
# demo's settings: the production ones plus the demo app and its beat schedule.
run: export DJANGO_SETTINGS_MODULE = dashboard_project.settings_demo
run: install
	$(BIN)/python manage.py migrate
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/python manage.py rundemo --addr $(ADDR)

test: install-test
	$(BIN)/python tests/run_matrix.py $(ARGS)

lint: install-test
	$(BIN)/ruff check .

# Retake the README's screenshots (docs/screenshots/) with the browser tests.
screenshots: install-test
	UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/browser/test_screenshots.py

# Benchmarks run in a virtualenv of their own: the reference app they are
# compared with (django-celery-results) is never installed in .venv.
BENCH_VENV := .venv-bench
$(BENCH_VENV)/.installed: requirements.txt bench/requirements.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install -r bench/requirements.txt
	touch $@

bench-backend: $(BENCH_VENV)/.installed
	$(BENCH_VENV)/bin/python bench/backend.py

# The insights' statistics at 10M rows on PostgreSQL (seeding, rebuild, a pass,
# the read paths beside raw aggregates): needs nothing beyond .venv.
# ARGS: e.g. --rows 1000000 --database-url postgres://...
bench-insights: install
	$(BIN)/python bench/insights.py $(ARGS)
