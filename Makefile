# The two commands a newcomer needs:  make run  (default experiment)  and  make test  (test suite).
# Each sets up what it needs on a fresh Debian machine with Python 3.11: a virtual environment with the
# pinned dependencies, and the embedded Fashion-MNIST dataset. Re-running is fast when nothing changed.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FASHION_MNIST := /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz
CORES ?= all
SNAKEMAKE := $(BIN)/snakemake

.PHONY: run test test-fast test-numerics lint report data install clean frequency_bias known_answer docs

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev,docs]'
	touch $@

# Fashion-MNIST from Debian (31 MB, MIT licence). Without apt, set datasets.fashion_mnist.download: true.
data: $(FASHION_MNIST)

$(FASHION_MNIST):
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  (apt-get install -y -q dataset-fashion-mnist || (apt-get update -q && apt-get install -y -q dataset-fashion-mnist)) >/dev/null; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then \
	  sudo apt-get update -q && sudo apt-get install -y -q dataset-fashion-mnist >/dev/null; \
	else \
	  echo "freqmaps: Fashion-MNIST is not at $(dir $(FASHION_MNIST)) and apt-get is not usable here."; \
	  echo "  Install the Debian package dataset-fashion-mnist, or set datasets.fashion_mnist.root to a folder"; \
	  echo "  with the four IDX .gz files, or datasets.fashion_mnist.download: true (needs internet)."; \
	fi

# make run CONFIG=configs/<experiment>.yaml runs another experiment: the file is checked first, so that
# malformed YAML is reported with its file, line and column (Snakemake's own reading of a --configfile names
# neither), then the run and its report go to results/<experiment>/.
CONFIG ?=
CONFIGFILE = $(if $(CONFIG),--configfile $(CONFIG))

run: $(STAMP) data
	$(BIN)/python -m freqmaps.config $(or $(CONFIG),config.yaml)
	$(SNAKEMAKE) --cores $(CORES) --profile profiles/local $(CONFIGFILE)
	results=results/$$($(BIN)/python -m freqmaps.config --experiment $(CONFIG)) && \
	$(SNAKEMAKE) --cores $(CORES) --report $$results/report.html $(CONFIGFILE) && \
	echo "freqmaps: report at $$results/report.html, verdict at $$results/verdict.csv"

report: $(STAMP)
	$(SNAKEMAKE) --cores $(CORES) --report results/default/report.html

# The frequency-bias study of [P1] on the default config's dataset (results/default/<dataset>/frequency_bias/).
frequency_bias: $(STAMP) data
	$(SNAKEMAKE) --cores $(CORES) --profile profiles/local frequency_bias
	$(SNAKEMAKE) --cores $(CORES) frequency_bias --report results/default/frequency_bias_report.html

# Known-answer validation on the synthetic datasets (no download), with its own study of training variants.
known_answer: $(STAMP)
	$(SNAKEMAKE) --cores $(CORES) --profile profiles/local known_answer frequency_bias --configfile configs/synthetic_known_answer.yaml
	$(SNAKEMAKE) --cores $(CORES) known_answer frequency_bias --report results/synthetic_known_answer/known_answer_report.html --configfile configs/synthetic_known_answer.yaml

# The whole suite, as CI runs it: the numerics matrix, the documentation build, then every other test (the last
# line is pytest's count), in $(TEST_WORKERS) processes (pytest-xdist): each session workflow run is made once, by
# the first process that asks, and shared (tests/conftest.py, session_run). The numerics tests run only in the matrix
# (every capability x 1 and 2 threads), which includes what a plain pytest process would run them on.
TEST_WORKERS ?= 2

test: $(STAMP) data test-numerics docs
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) -m "not numerics" --durations=10

# The documentation site (docs/contributing.md): warnings are errors, every cross-reference must resolve (-n),
# internal links and anchors are checked offline, the tutorial in docs/tutorials/ is executed.
docs: $(STAMP) data
	PYTHONPATH=src$${PYTHONPATH:+:$$PYTHONPATH} $(BIN)/sphinx-build -b html -W --keep-going -n -q docs docs/_build/html
	@echo "freqmaps: documentation at docs/_build/html/index.html"

# The numerically sensitive tests (marker `numerics`: attack success, maps, exact ties) under every CPU kernel
# set torch can use on this CPU (ATEN_CPU_CAPABILITY) and on 1 and 2 threads, each in a fresh process (torch reads
# the variable once, at import): a result must not depend on the node that computed it (docs/METHOD.md §3).
# Only the files that hold such tests are collected (collecting the whole suite imports every test module).
NUMERICS_FILES = $(shell grep -rl --include='test_*.py' 'mark.numerics' tests)

test-numerics: $(STAMP) data
	@set -e; capabilities=$$($(BIN)/python -c 'from freqmaps.runtime import cpu_capabilities; print(*cpu_capabilities())'); \
	[ -n "$$capabilities" ] || { echo "freqmaps: could not list torch's CPU capabilities"; exit 1; }; \
	for capability in $$capabilities; do \
	  for threads in 1 2; do \
	    echo "freqmaps: numerics tests with ATEN_CPU_CAPABILITY=$$capability on $$threads thread(s)"; \
	    ATEN_CPU_CAPABILITY=$$capability OMP_NUM_THREADS=$$threads $(BIN)/python -m pytest -q -m numerics -p no:cacheprovider $(NUMERICS_FILES); \
	  done; \
	done

# Before a commit: every test but the workflow runs and the SLURM cluster (those are marked slow / slurm).
test-fast: $(STAMP) data
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) -m "not slow and not slurm" --durations=10

lint: $(STAMP)
	$(BIN)/ruff check src scripts tests bench docs
	$(SNAKEMAKE) --lint --cores 1

clean:
	rm -rf results logs benchmarks .snakemake docs/_build docs/auto_tutorials docs/guide/_generated
