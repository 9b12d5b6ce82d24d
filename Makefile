# Two commands do everything on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# A Prefect server on loopback; its database is SQLite under .prefect/ unless
# PREFECT_SERVER_DATABASE_CONNECTION_URL names a PostgreSQL one (see README).
PREFECT_PORT    ?= 4200
PREFECT_API_URL ?= http://127.0.0.1:$(PREFECT_PORT)/api

.PHONY: install demo test lint typecheck clean server deploy worker

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,bench,dask]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/dealer-sync demo

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest

server: $(STAMP)
	PREFECT_HOME=$${PREFECT_HOME:-$(CURDIR)/.prefect} PREFECT_SERVER_ANALYTICS_ENABLED=false \
		$(BIN)/prefect server start --host 127.0.0.1 --port $(PREFECT_PORT)

deploy: $(STAMP)
	PREFECT_API_URL=$(PREFECT_API_URL) $(BIN)/dealer-sync deploy

# Runs flows from this clone; heartbeats let the server mark a dead run Crashed.
worker: $(STAMP)
	PREFECT_API_URL=$(PREFECT_API_URL) DEALER_SYNC_WORKER_HOME=$(CURDIR) PREFECT_FLOWS_HEARTBEAT_FREQUENCY=30 \
		$(BIN)/prefect worker start --pool dealer-sync

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache .mypy_cache
