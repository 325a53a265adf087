"""PII step: find e-mails, phones, cards, IPs, IBANs, SSNs (and optionally URLs, names, places)
with presidio, count them per type, then replace, mask, hash them or drop the document.

Fully offline (see `curation.pii.offline`). presidio and the recognizers load once per run,
in `prepare` before the local executor's workers fork (otherwise on the first document of
each process); importing this module stays cheap so that `gristmill steps` and config
validation do not pay for presidio and spaCy.
"""

from __future__ import annotations

import functools
import os
from typing import Literal

import pyarrow as pa
from pydantic import Field, field_validator

from curation.core.document import Document
from curation.core.errors import ConfigError
from curation.core.registry import register
from curation.io import chat
from curation.steps.base import FilterParams, Step

Entity = Literal["EMAIL", "PHONE", "CREDIT_CARD", "IP", "IBAN", "US_SSN", "URL", "PERSON",
                 "LOCATION"]
DEFAULT_ENTITIES = ["EMAIL", "PHONE", "CREDIT_CARD", "IP", "IBAN", "US_SSN"]
NER_ENTITIES = ("PERSON", "LOCATION")
KEY_ENV = "GRISTMILL_PII_KEY"


class PiiParams(FilterParams):
    entities: list[Entity] = Field(
        list(DEFAULT_ENTITIES),
        description="types to find: EMAIL, PHONE, CREDIT_CARD, IP, IBAN, US_SSN, URL; "
                    "PERSON and LOCATION need spacy_model")
    action: Literal["replace", "mask", "hash", "drop"] = Field(
        "replace", description="replace with <TYPE>, mask each character, hash (keyed "
                               "HMAC-SHA256 token), or drop the document (pii:contains_pii)")
    mask_char: str = Field("*", min_length=1, max_length=1,
                           description="mask: the character that replaces each character")
    hash_key_env: str = Field(KEY_ENV, min_length=1,
                              description="hash: environment variable that holds the key")
    hash_key: str | None = Field(
        None, description="hash: the key itself (stored in the manifest's copy of the "
                          "pipeline; prefer hash_key_env)")
    hash_length: int = Field(16, ge=8, le=64, description="hash: hex digits kept per token")
    spacy_model: str | None = Field(
        None, description="installed spaCy NER package or pipeline directory, for "
                          "PERSON/LOCATION; never downloaded")
    phone_regions: list[str] = Field(
        [],
        description="also run presidio's libphonenumber matcher for these regions "
                    "(e.g. [US, GB]); slower")
    min_score: float = Field(0.0, ge=0.0, le=1.0,
                             description="ignore matches presidio scores below this")
    prescreen: bool = Field(True, description="analyze only text around digits, @, ...; "
                                              "false analyzes whole texts (same results)")

    @field_validator("entities")
    @classmethod
    def _entities(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("name at least one entity type")
        return list(dict.fromkeys(value))  # unique, in the given order

    @field_validator("phone_regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        import phonenumbers

        value = [r.upper() for r in value]
        unknown = [r for r in value if r not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise ValueError(f"unknown region(s) {', '.join(unknown)}; use ISO 3166 codes "
                             "such as US, GB, DE")
        return value


def column_name(entity: str) -> str:
    return f"pii_{entity.lower()}"


@register
class Pii(Step):
    """Find PII with presidio (offline), count it per type; replace, mask, hash or drop."""

    name = "pii"
    handles_chat = True  # scrubs each message, then renders the text again
    Params = PiiParams
    # The columns of the default entities; an instance has those of its own entity list.
    columns = {"pii_count": pa.int32(), **{column_name(e): pa.int32() for e in DEFAULT_ENTITIES}}

    def __init__(self, params=None):
        super().__init__(params)
        p = self.params
        self.columns = {"pii_count": pa.int32(),
                        **{column_name(e): pa.int32() for e in p.entities}}
        self._columns = [(e, column_name(e)) for e in p.entities]
        ner = [e for e in p.entities if e in NER_ENTITIES]
        if ner and not p.spacy_model:
            verb = "needs" if len(ner) == 1 else "need"
            raise ConfigError(f"pii: {', '.join(ner)} {verb} a spaCy NER model: set spacy_model "
                              "to an installed package (en_core_web_sm) or a pipeline directory")
        if p.spacy_model:
            from curation.pii.engine import ModelNotInstalled, check_spacy_model

            try:
                check_spacy_model(p.spacy_model)
            except ModelNotInstalled as err:
                raise ConfigError(f"pii: {err}") from None
        self._key: bytes | None = None
        if p.action == "hash" and not self.annotate_only:  # annotate never rewrites text
            key = p.hash_key if p.hash_key is not None else os.environ.get(p.hash_key_env)
            if not key:
                raise ConfigError(f"pii: action 'hash' needs a secret key: set the environment "
                                  f"variable {p.hash_key_env} (or hash_key)")
            self._key = key.encode()

    def process(self, doc: Document) -> str | None:
        messages = doc.meta.get(chat.MESSAGES)  # chat rows: each message's content
        texts = [doc.text] if messages is None else [m["content"] for m in messages]
        found = [_analyzer(*self._analyzer_config()).analyze(text) for text in texts]
        spans = [span for hits in found for span in hits]
        counts = dict.fromkeys(self.params.entities, 0)
        for span in spans:
            counts[span.entity] += 1
        doc.meta["pii_count"] = len(spans)
        for entity, column in self._columns:
            doc.meta[column] = counts[entity]
        if not spans:
            return None
        if self.params.action == "drop":
            return "contains_pii"
        if not self.annotate_only:
            texts = [self._anonymizer().apply(text, hits) if hits else text
                     for text, hits in zip(texts, found, strict=True)]
            if messages is None:
                doc.set_text(texts[0])
            else:
                doc.meta[chat.MESSAGES] = [{**m, "content": text}
                                           for m, text in zip(messages, texts, strict=True)]
                doc.set_text(chat.render(doc.meta[chat.MESSAGES]))
        return None

    def prepare(self) -> None:
        """presidio and the recognizers (seconds of imports), once per run, not per worker."""
        _analyzer(*self._analyzer_config())
        if not self.annotate_only and self.params.action != "drop":
            self._anonymizer()

    def _analyzer_config(self) -> tuple:
        p = self.params
        return (tuple(p.entities), p.spacy_model, tuple(p.phone_regions), p.min_score,
                p.prescreen)

    def _anonymizer(self):
        p = self.params
        return _anonymizer(p.action, tuple(p.entities), p.mask_char, self._key, p.hash_length)


@functools.lru_cache(maxsize=8)
def _analyzer(entities: tuple[str, ...], spacy_model: str | None, phone_regions: tuple[str, ...],
              min_score: float, prescreen: bool):
    """One analyzer per configuration and process, built on first use."""
    from curation.pii.engine import PiiAnalyzer

    return PiiAnalyzer(list(entities), spacy_model=spacy_model,
                       phone_regions=list(phone_regions), min_score=min_score,
                       prescreen=prescreen)


@functools.lru_cache(maxsize=8)
def _anonymizer(action: str, entities: tuple[str, ...], mask_char: str, key: bytes | None,
                hash_length: int):
    from curation.pii.actions import Anonymizer

    return Anonymizer(action, list(entities), mask_char=mask_char, key=key,
                      hash_length=hash_length)
