# Two commands for a fresh machine with Python 3.11 and make:
#   make demo   - the full chain on synthetic data, writes reports/demo/
#   make test   - the test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench notebooks clean constraints

$(PY):
	@$(PYTHON) -c "import sys; sys.exit(sys.version_info < (3, 11))" || { echo "make: Python 3.11 or newer is needed; set PYTHON=/path/to/python3.11"; exit 2; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml constraints.txt
	$(PY) -m pip install --quiet -c constraints.txt -e ".[all,test]"
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/trial demo --out reports/demo

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) bench/intake.py
	$(PY) bench/diagnose.py
	$(PY) bench/randomization_inference.py
	$(PY) bench/outcomes.py
	$(PY) bench/register.py
	$(PY) bench/simulate.py
	$(PY) bench/business_case.py
	$(PY) bench/notebooks.py

notebooks: $(STAMP)
	$(PY) -m pip install --quiet -c constraints.txt jupyterlab
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf $(VENV) reports/demo .pytest_cache
