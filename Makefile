# The README's two commands: `make demo` and `make test`. Each builds its own virtual
# environment on first use, so a fresh clone needs nothing but python3 (3.10+).
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
export HF_HUB_OFFLINE := 1
export TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS :=
# Idle OpenMP threads sleep instead of spinning: training tests and benchmarks stay fast
# when other processes share the cores.
export OMP_WAIT_POLICY := PASSIVE

.PHONY: demo test test-fast install lint clean

# The whole flow on the bundled sample: curate it with the web pipeline (books are
# hard-wrapped, so cleanup unwraps them; a larger validation split for this small corpus),
# train a tokenizer, train the tiny GPT (a few minutes on a laptop CPU), sample from it.
# Run it again after a Ctrl-C and training resumes; --overwrite keeps the model (curate
# replaces only what it wrote in runs/demo).
DEMO := runs/demo
demo: $(VENV)/.installed
	$(VENV)/bin/gristmill curate pipelines/web.yaml --input 'data/sample/*.jsonl.gz' \
		--output $(DEMO) --overwrite steps.cleanup.unwrap_lines=true \
		steps.split.validation_fraction=0.05
	$(VENV)/bin/gristmill tokenizer train --data $(DEMO) --vocab-size 4096 \
		--out $(DEMO)/tokenizer.json --overwrite
	$(VENV)/bin/gristmill train training/configs/tiny.yaml --resume
	@echo "--- a sample from the trained model:"
	@$(VENV)/bin/gristmill sample $(DEMO)/model --prompt "It was" --max-new-tokens 80 --seed 1
	@echo "---"
	@echo "curated shards: $(DEMO)/train $(DEMO)/validation (dropped: $(DEMO)/rejected)"
	@echo "report:         $(DEMO)/report.html (open it in a browser)"
	@echo "tokenizer:      $(DEMO)/tokenizer.json"
	@echo "model:          $(DEMO)/model/checkpoints (metrics: $(DEMO)/model/metrics.jsonl)"
	@echo "next: $(VENV)/bin/gristmill sample $(DEMO)/model --prompt 'It was' --temperature 0.7"
	@echo "      $(VENV)/bin/pip install -e '.[export]'; $(VENV)/bin/gristmill export $(DEMO)/model --out $(DEMO)/hf"
	@echo "      docs/guide.md (curation) and docs/training.md (training)"

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
