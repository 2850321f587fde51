# Two entry points on a fresh machine (see README):
#   make demo   set up, make a sample clip, colorize it with the bundled model
#   make test   set up, lint, run the test suite (what CI runs)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: setup demo test lint bench clean

# The runtime alone (what a user who colorizes needs): no training stack.
$(VENV)/.runtime: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[cpu]'
	touch $@

# What the tests need on top: the CPU build of PyTorch (test-time model export), the training
# code's dependencies, pytest and ruff.
$(VENV)/.test: $(VENV)/.runtime
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[cpu,training,test]'
	touch $@

setup: $(VENV)/.test

demo: $(VENV)/.runtime
	$(BIN)/colormotion sample out/sample.mp4 --overwrite
	$(BIN)/colormotion colorize out/sample.mp4 out/sample_colour.mp4 --overwrite

lint: setup
	$(BIN)/ruff check plugin training tests ofx_bridge docs package.py
	$(BIN)/ruff format --check plugin training tests ofx_bridge docs package.py

test: setup lint
	# pytest exits 5 when it collects no tests: make treats every non-zero status as failure
	$(BIN)/python -m pytest -q

bench: $(VENV)/.runtime
	$(BIN)/colormotion bench

clean:
	rm -rf $(VENV) build out .pytest_cache
