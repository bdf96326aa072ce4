# The two commands of the quick start: `make demo` and `make test`. Both set up .venv if missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_WS ?= demo-workspace
# The lab's data: the shared copy of the archive when it is there, else a checksummed download.
HYPERPIPE_NEWSGROUPS ?= $(firstword $(wildcard ../shared/data/20news-bydate.tar.gz))
export HYPERPIPE_NEWSGROUPS

.PHONY: demo demo-drift test lint bench bench-faults clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch is pinned and installed first, before anything that could pull another build of it.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev,postgres]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/newsgroups/run_demo.py --workspace $(DEMO_WS)

# The drift loop: a monitor fires on shifting posts and starts the retrain pipeline endpoint.
demo-drift: $(STAMP)
	$(BIN)/python examples/newsgroups/run_drift_demo.py --workspace demo-drift-workspace

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python benchmarks/metrics_ingest.py
	$(BIN)/python benchmarks/register_dataset.py
	$(BIN)/python benchmarks/pipeline_overhead.py
	$(BIN)/python benchmarks/hyperdrive_overhead.py
	$(BIN)/python benchmarks/sampler_efficiency.py
	$(BIN)/python benchmarks/portal_load.py
	$(BIN)/python benchmarks/scheduler_latency.py
	$(BIN)/python benchmarks/cold_start.py

bench-faults: $(STAMP)
	$(BIN)/python benchmarks/faults.py --kills 200

clean:
	rm -rf $(VENV) $(DEMO_WS) demo-drift-workspace .pytest_cache .ruff_cache
