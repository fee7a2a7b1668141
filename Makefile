# Two commands do all set-up: `make app` (install + start the app on the built-in model)
# and `make test` (install + run the test suite). Everything installs into .venv from
# requirements.txt and pyproject.toml.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8501

.PHONY: install app test test-all lint bench-quick bench-full default-model clean

$(BIN)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

install: $(BIN)/.installed

app: install  ## start the Streamlit explorer on the shipped default model
	$(BIN)/streamlit run app/Home.py --server.port $(PORT)

# One BLAS/OpenMP thread per process: the suite starts a Streamlit server and training runs side
# by side, and two multi-threaded torch processes on 2 cores slow each other down over 10x.
test: install  ## the default test run (what CI runs)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest

test-all: install  ## also the slow tests
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -m ""

lint: install
	$(BIN)/ruff check cgmvae app pages tests benchmarks docs

bench-quick: install
	$(BIN)/python -m benchmarks.run --suite quick

bench-full: install
	$(BIN)/python -m benchmarks.run --suite full

default-model: install  ## regenerate the simulated checklists and the shipped checkpoint
	$(BIN)/python app/build_default_model.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
