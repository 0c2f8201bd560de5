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

.PHONY: install run test lint format clean browser

# pip installs without compiling (it compiles one file at a time); compileall then writes the
# bytecode of every installed module on all cores. Not left to first import: where
# PYTHONDONTWRITEBYTECODE is set, every process would compile every module it imports. Files
# that do not compile (some packages ship them on purpose) are skipped, as pip skips them.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip
	if command -v nvidia-smi >/dev/null 2>&1; then \
		echo "CUDA found: torch comes from pyproject's range"; \
	else \
		$(BIN)/python -m pip install -qq --no-compile $(TORCH_PIP_ARGS) "$(TORCH_CPU)"; \
	fi
	$(BIN)/python -m pip install -qq --no-compile -e '.[dev]'
	$(BIN)/python -m compileall -qq -j 0 $(VENV)/lib || true
	touch $@

install: $(VENV)/.installed

run: install
	dvc repro
	gan summary

# The review-page test renders in headless Chromium (Debian's package): installed through apt
# when missing and allowed (root, or sudo without a password); otherwise say what to run, before
# any test starts.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then SUDO=; \
		elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
		else echo "make test needs headless Chromium for tests/test_review_page.py:" \
			"run 'sudo apt-get install -y chromium', then make test again" >&2; exit 1; fi; \
		echo "installing Debian's chromium for the review-page test (apt-get)"; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# Two workers, one test file each at a time (a file's shared fixtures are made once; a test that
# names its own xdist_group runs apart), longest first in tests/conftest.py's order; the ten
# slowest tests are listed at the end.
test: install browser
	python -m pytest -q -n 2 --dist loadgroup --no-loadscope-reorder --durations=10

lint: install
	ruff check . && ruff format --check .

format: install
	ruff format . && ruff check --fix .

clean:
	rm -rf data/prepared models metrics plots ray_runs mlartifacts mlflow.db
