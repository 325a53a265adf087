"""What happens to the PII spans found in a text: presidio-anonymizer operators per entity type.

- `replace`: a typed placeholder, `<EMAIL>`.
- `mask`: every character of the span becomes `mask_char` (same length).
- `hash`: `<EMAIL:9f86d081884c7d65>`, the truncated hex HMAC-SHA256 of the normalized value
  under a secret key. The same value gives the same token across documents, runs and
  machines that share the key, so co-occurrence survives while the value does not; without
  the key, tokens cannot be confirmed by hashing guesses.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable

from curation.pii.engine import Span

_NOT_DIGIT = re.compile(r"[^\d+]")
_SPACES = re.compile(r"[\s\-]")


def normalize(entity: str, value: str) -> str:
    """The form that is hashed: `555-1234` and `555 1234`, or `A@B.com` and `a@b.com`, agree."""
    if entity in ("PHONE", "CREDIT_CARD", "US_SSN"):
        return _NOT_DIGIT.sub("", value)
    if entity == "IBAN":
        return _SPACES.sub("", value).upper()
    if entity in ("EMAIL", "URL", "IP"):
        return value.strip().lower()
    return " ".join(value.split())


def hash_token(entity: str, value: str, key: bytes, length: int) -> str:
    """`<ENTITY:hex>`: HMAC-SHA256(key, "ENTITY:normalized value"), first `length` hex digits."""
    message = f"{entity}:{normalize(entity, value)}".encode()
    digest = hmac.new(key, message, hashlib.sha256).hexdigest()[:length]
    return f"<{entity}:{digest}>"


class Anonymizer:
    """Applies one action to every span with presidio-anonymizer's engine."""

    def __init__(self, action: str, entities: list[str], *, mask_char: str = "*",
                 key: bytes | None = None, hash_length: int = 16):
        from presidio_anonymizer import AnonymizerEngine
        from presidio_anonymizer.entities import OperatorConfig

        self.engine = AnonymizerEngine()
        self.operators: dict[str, OperatorConfig] = {}
        for entity in entities:
            if action == "replace":
                config = OperatorConfig("replace", {"new_value": f"<{entity}>"})
            elif action == "mask":
                config = OperatorConfig("mask", {"masking_char": mask_char,
                                                 "chars_to_mask": 1 << 62, "from_end": False})
            elif action == "hash":
                if not key:
                    raise ValueError("action 'hash' needs a key")
                config = OperatorConfig("custom", {"lambda": _hasher(entity, key, hash_length)})
            else:
                raise ValueError(f"no text action {action!r}")
            self.operators[entity] = config

    def apply(self, text: str, spans: list[Span]) -> str:
        from presidio_anonymizer.entities import RecognizerResult

        results = [RecognizerResult(s.entity, s.start, s.end, s.score) for s in spans]
        # One token per counted entity: presidio would merge "<EMAIL> <EMAIL>" into one.
        return self.engine.anonymize(text, results, self.operators,
                                     merge_entities_with_spaces=False).text


def _hasher(entity: str, key: bytes, length: int) -> Callable[[str], str]:
    return lambda value: hash_token(entity, value, key, length)
