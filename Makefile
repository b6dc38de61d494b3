# Two commands do everything: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV_VERSION := 0.13.9
# Use uv from PATH, or bootstrap a private copy from PyPI into .tools/.
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
export UV_PYTHON_DOWNLOADS := never
VENV := .venv/bin

.PHONY: help install run test lint fmt bench

help:
	@echo "make run    install, migrate, create the first admin, serve on http://127.0.0.1:8000"
	@echo "make test   ruff, mypy and the whole pytest suite"
	@echo "make lint | fmt | bench"

$(CURDIR)/.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

.venv/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	@touch $@

install: .venv/.installed

run: install
	$(VENV)/vesalius init
	$(VENV)/vesalius serve

lint: install
	$(VENV)/ruff check vesalius tests bench
	$(VENV)/ruff format --check vesalius tests bench
	$(VENV)/mypy

test: lint
	$(VENV)/pytest

fmt: install
	$(VENV)/ruff format vesalius tests bench
	$(VENV)/ruff check --fix vesalius tests bench

bench: install
	$(VENV)/python -m bench
