# Loadline — the two set-up commands are `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-dev setup worker beat bench lint format schema clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## setup: migrate, load scenarios + curriculum (courses link to scenarios), create the demo accounts (idempotent)
setup: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_scenarios
	$(BIN)/python manage.py load_curriculum
	$(BIN)/python manage.py seed_demo

## run: the whole platform on the embedded default (SQLite, in-process tasks)
run: setup
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

## test: the whole suite; integration + browser tests run when their services exist
test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## worker / beat: production-like local run (needs DATABASE_URL and CELERY_BROKER_URL); one BLAS
## thread per worker process (capacity is one process per core)
worker: install
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
	$(BIN)/celery -A config worker --loglevel=INFO --concurrency=$${WORKER_CONCURRENCY:-2}

beat: install
	$(BIN)/celery -A config beat --loglevel=INFO

## bench: engine speed and memory figures (a benchmark, not a test)
bench: install-dev
	$(BIN)/python -m tests.bench

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

schema: install
	$(BIN)/python manage.py spectacular --file schema.yaml --validate

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis db.sqlite3
