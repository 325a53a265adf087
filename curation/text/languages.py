"""The per-language tables the heuristic filters read: stop words and thresholds.

Both are packaged JSON files in `curation/text/data/`, written by
`python -m curation.text.build_tables` (docs/languages.md says how each was made). A language
missing from a table gets the English defaults (thresholds) or no stop-word rule (stop
words); the run report lists the documents that fell back.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any, ClassVar

from pydantic import BaseModel, Field, ValidationError, model_validator

from curation.langid import BACKENDS, UNDETERMINED, supported_languages

DATA = files("curation.text") / "data"
STOP_WORDS_FILE = "stopwords.json"
THRESHOLDS_FILE = "thresholds.json"


@cache
def _load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def stop_words(lang: str) -> frozenset[str] | None:
    """The lowercase stop words of `lang`, or None when the table has no list for it."""
    found = _load(STOP_WORDS_FILE)["languages"].get(lang)
    return frozenset(found) if found is not None else None


def thresholds(lang: str) -> dict[str, float | None] | None:
    """The derived thresholds of `lang` (step parameter -> value), or None when unknown."""
    return _load(THRESHOLDS_FILE)["languages"].get(lang)


def known_languages() -> frozenset[str]:
    """Languages with a thresholds entry (English is the defaults themselves)."""
    return frozenset(_load(THRESHOLDS_FILE)["languages"]) | {"en"}


class PerLanguage(BaseModel):
    """Parameters a step with per-language thresholds adds (mixed into its Params)."""

    # parameters the step reads once, not per document
    same_for_every_language: ClassVar[frozenset[str]] = frozenset()

    language_tables: bool = Field(
        True, description="documents whose lang is not en take the derived thresholds (and stop "
                          "words) of their language (docs/languages.md) for every parameter "
                          "left at its default; a language without a table keeps the values "
                          "here")
    per_language: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="parameter values for one language, by lang code, e.g. {zh: "
                    "{min_mean_word_length: 1.2}}; they win over the table and the values "
                    "above")

    @classmethod
    def tables_field(cls, names: str) -> Any:
        """`language_tables` for a step, naming the parameters its table sets."""
        return Field(True, description=(
            f"documents whose lang is not en take their language's derived {names} "
            "(docs/languages.md) where the value here is the default; a language without a "
            "table keeps the values here"))

    @model_validator(mode="after")
    def _check_per_language(self) -> PerLanguage:
        names = (set(type(self).model_fields) - {"mode", "per_language", "language_tables"}
                 - type(self).same_for_every_language)
        codes = ({code for backend in BACKENDS for code in supported_languages(backend)}
                 if self.per_language else set())
        for lang, values in self.per_language.items():
            if lang not in codes | {UNDETERMINED[0], "en"}:
                raise ValueError(f"per_language: no language step returns {lang!r}; use the "
                                 "lang codes it writes (ISO 639-1 where there is one: zh, "
                                 "de, fa; docs/steps-cleanup-language.md lists them)")
            unknown = sorted(set(values) - names)
            if unknown:
                raise ValueError(f"per_language.{lang}: unknown parameter "
                                 f"{', '.join(map(repr, unknown))}; known: "
                                 f"{', '.join(sorted(names))}")
            try:
                type(self).model_validate({**self.model_dump(exclude={"per_language"}),
                                           **values})
            except ValidationError as err:
                first = err.errors()[0]
                where = ".".join(map(str, first["loc"]))
                raise ValueError(f"per_language.{lang}.{where}: {first['msg']} "
                                 f"(got {first['input']!r})") from None
        return self


class LanguageParams:
    """A step's parameters for each document language: the table's values for parameters
    left at their default, then the user's `per_language` values. Resolved once a language.
    (A value the user changed applies to every language: the pipeline loader validates and
    writes out every parameter, so "changed" means "differs from the default".)"""

    def __init__(self, params: Any):
        self.params = params
        self._cache: dict[str | None, Any] = {}

    def __call__(self, lang: str | None) -> Any:
        found = self._cache.get(lang)
        if found is None:
            found = self._cache[lang] = self._resolve(lang)
        return found

    def _resolve(self, lang: str | None) -> Any:
        p = self.params
        values: dict[str, Any] = {}
        if lang not in (None, "", "en") and p.language_tables:
            fields = type(p).model_fields
            values = {key: value for key, value in (thresholds(lang) or {}).items()
                      if key in fields and getattr(p, key) == fields[key].default}
        values.update(p.per_language.get(lang, {}) if lang else {})
        return p.model_copy(update=values) if values else p
