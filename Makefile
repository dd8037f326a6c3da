# Two commands: `make run` (install, migrate, serve the live demo) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ADDR ?= 127.0.0.1:8000

.PHONY: run test install install-test

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
# web server until Ctrl-C (see demo/management/commands/rundemo.py).
run: install
	$(BIN)/python manage.py migrate
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/python manage.py rundemo --addr $(ADDR)

test: install-test
	$(BIN)/python tests/run_matrix.py $(ARGS)
