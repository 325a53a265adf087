# The README's two commands: `make demo` and `make test`. Each builds its own virtual
# environment on first use, so a fresh clone needs nothing but python3 (3.10+).
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
export HF_HUB_OFFLINE := 1
export TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS :=

.PHONY: demo test test-fast install lint clean

demo: $(VENV)/.installed
	$(VENV)/bin/gristmill curate pipelines/quickstart.yaml --output runs/demo --overwrite
	$(VENV)/bin/gristmill tokenizer train --data runs/demo --vocab-size 4096 \
		--out runs/demo/tokenizer.json --overwrite
	@echo "shards: runs/demo/train, runs/demo/validation, runs/demo/rejected"
	@echo "tokenizer: runs/demo/tokenizer.json"
	@echo "report: runs/demo/report.html (open it in a browser)"

test: $(VENV)/.installed-test
	$(PY) -m pytest

test-fast: $(VENV)/.installed-test
	$(PY) -m pytest -m "not slow"

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .

install: $(VENV)/.installed

$(VENV)/bin/python:
	python3 -m venv $(VENV)

# The CPU build of torch unless a GPU is present: an unpinned `torch` from PyPI is a
# multi-GB CUDA build. The local +cpu wheel is tried first, then PyTorch's CPU index.
$(VENV)/.torch: | $(VENV)/bin/python
	@if command -v nvidia-smi >/dev/null 2>&1; then \
		$(PIP) install "torch>=2.4"; \
	else \
		$(PIP) install "torch==2.13.0+cpu" || \
		$(PIP) install "torch>=2.4" --index-url https://download.pytorch.org/whl/cpu; \
	fi
	touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.torch
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.torch
	$(PIP) install -e ".[test,ray]"
	touch $@ $(VENV)/.installed

clean:
	rm -rf $(VENV) runs
