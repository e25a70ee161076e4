# msuite: two commands for a new machine.
#   make demo   create .venv, install msuite, run the main job on generated data
#   make test   create .venv, install msuite with the test extras, run lint and the whole suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check

.PHONY: demo test lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PIP) install -q -e '.[test,gui]'
	touch $@ $(VENV)/.installed

$(VENV)/.installed-bench: pyproject.toml | $(PY)
	$(PIP) install -q -e '.[test,bench]'
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/msuite demo --out demo-output

lint: $(VENV)/.installed-test
	$(PY) -m ruff check msuite tests benchmarks

test: lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

bench: $(VENV)/.installed-bench
	$(PY) benchmarks/io_bench.py
	$(PY) benchmarks/quant_bench.py
	$(PY) benchmarks/driver_bench.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache
