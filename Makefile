# Quickstart: `make run` (train + register on the default data), `make test` (whole suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# Machines without CUDA get the CPU wheel of torch (pip finds 2.13.0 locally on our machines;
# elsewhere: make run TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu").
TORCH_CPU ?= torch==2.13.0
TORCH_PIP_ARGS ?=
export PATH := $(BIN):$(PATH)

.PHONY: install run test lint format clean

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip
	if command -v nvidia-smi >/dev/null 2>&1; then \
		echo "CUDA found: torch comes from pyproject's range"; \
	else \
		$(BIN)/python -m pip install -qq $(TORCH_PIP_ARGS) "$(TORCH_CPU)"; \
	fi
	$(BIN)/python -m pip install -qq -e '.[dev]'
	touch $@

install: $(VENV)/.installed

run: install
	dvc repro
	gan summary

test: install
	python -m pytest -q

lint: install
	ruff check . && ruff format --check .

format: install
	ruff format . && ruff check --fix .

clean:
	rm -rf data/prepared models metrics plots ray_runs mlartifacts mlflow.db
