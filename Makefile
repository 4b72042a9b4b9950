# SutazAI — the two commands a newcomer needs are `make up` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
SUTAZAI := $(VENV)/bin/sutazai
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install up down status test test-unit test-integration test-e2e test-ha lint clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'

install: ## Create .venv and install the locked dependencies (cached llama.cpp build), generate the gRPC code
	@bash scripts/bootstrap.sh
	@.venv/bin/python -m sutazai.grpc_api.codegen >/dev/null

up: install ## Start the embedded stack on http://127.0.0.1:8080 (no Docker, no root)
	@$(SUTAZAI) up

down: ## Stop what `make up` started
	@$(SUTAZAI) down

status: ## Health of every service and backend
	@$(SUTAZAI) status

test: install lint ## Lint, then run the whole test suite (unit, integration, e2e)
	@bash scripts/test-deps.sh
	@OMP_WAIT_POLICY=PASSIVE $(VENV)/bin/pytest $(PYTEST_ARGS)

test-unit: install ## Only the unit tier
	@$(VENV)/bin/pytest -m unit $(PYTEST_ARGS)

test-integration: install ## Only the integration tier (real local servers)
	@bash scripts/test-deps.sh
	@$(VENV)/bin/pytest -m integration $(PYTEST_ARGS)

test-e2e: install ## Only the end-to-end tier (the web UI tests drive Debian's chromium)
	@bash scripts/test-deps.sh
	@$(VENV)/bin/pytest -m e2e $(PYTEST_ARGS)

test-ha: install ## Only the HA tier (etcd, Patroni, PostgreSQL, HAProxy killed under load)
	@bash scripts/test-deps.sh
	@$(VENV)/bin/pytest -m ha $(PYTEST_ARGS)

lint: install ## ruff, mypy --strict and the service-independence contracts
	@echo "==> lint: ruff, mypy --strict, import contracts"
	@$(VENV)/bin/ruff check -q services tests bench
	@$(VENV)/bin/mypy --no-error-summary
	@$(VENV)/bin/lint-imports --no-cache > /dev/null

clean: ## Remove the virtualenv and caches (the data directory is kept)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
