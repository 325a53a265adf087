"""Keep presidio offline and off the GPU: call `prepare()` before presidio is imported.

- tldextract (used by presidio's e-mail recognizer) fetches the Public Suffix List over HTTP
  the first time it runs unless `TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS` is empty; with it empty,
  it uses the snapshot that ships inside the package. tldextract reads the variable when it is
  imported, so if something imported it earlier, its module-level extractor is fixed too.
- presidio detects a CUDA device by importing torch at import time unless `PRESIDIO_DEVICE`
  is set; the PII step runs regular expressions (and, optionally, a CPU spaCy model).
- spaCy models are only ever loaded from an installed package or a directory: presidio's
  engine would otherwise download a missing model (see `engine.check_spacy_model`).
- presidio imports spaCy, and spaCy's thinc imports torch (when installed) just to find out
  whether it could use it, probing CUDA on the way: more than half of presidio's import time.
  The structured types never touch spaCy or torch, so `import_presidio(keep_torch=False)`
  hides torch during that one import when nothing has imported torch or thinc yet. torch
  stays importable afterwards; only thinc keeps believing it is absent, which matters to
  torch-based spaCy models alone, and those are never loaded in that case (a `spacy_model`
  means `keep_torch=True`). transformers is hidden with it: presidio imports it (guarded by
  `except ImportError`) only for its Hugging Face NER engine, which the step never builds;
  the import is slow and, with torch hidden, prints "PyTorch was not found".
"""

from __future__ import annotations

import contextlib
import os
import sys

SUFFIX_LIST_ENV = "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"


def _local_only(value: str) -> bool:
    """True when every entry of the variable is a file on this machine (or it is empty)."""
    entries = [line.strip() for line in value.splitlines() if line.strip()]
    return all(os.path.isfile(e) or e.startswith("file://") for e in entries)


def prepare() -> None:
    """Set the environment so that importing and running presidio touches no network."""
    if not _local_only(os.environ.get(SUFFIX_LIST_ENV, "")):
        os.environ[SUFFIX_LIST_ENV] = ""
    os.environ.setdefault(SUFFIX_LIST_ENV, "")
    os.environ.setdefault("PRESIDIO_DEVICE", "cpu")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    module = sys.modules.get("tldextract.tldextract")
    if module is not None:  # imported before us: its default extractor read the old value
        extractor = module.TLD_EXTRACTOR
        if not all(url.startswith("file://") for url in extractor.suffix_list_urls):
            extractor.suffix_list_urls = ()


def suffix_list_urls() -> tuple[str, ...]:
    """The URLs tldextract's default extractor would fetch (empty when offline)."""
    import tldextract.tldextract as module

    return tuple(module.TLD_EXTRACTOR.suffix_list_urls)


def import_presidio(keep_torch: bool = True) -> None:
    """`prepare()`, then import presidio (analyzer and anonymizer) once per process."""
    prepare()
    hide = not keep_torch and "torch" not in sys.modules and "thinc" not in sys.modules
    with _hidden("torch", "transformers") if hide else contextlib.nullcontext():
        import presidio_analyzer  # noqa: F401
        import presidio_anonymizer  # noqa: F401


@contextlib.contextmanager
def _hidden(*modules: str):
    """`import module` raises ImportError meanwhile, for each module not yet imported."""
    hidden = [m for m in modules if m not in sys.modules]
    for module in hidden:
        sys.modules[module] = None
    try:
        yield
    finally:
        for module in hidden:
            if module in sys.modules and sys.modules[module] is None:
                del sys.modules[module]
