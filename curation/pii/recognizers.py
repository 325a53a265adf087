"""The presidio recognizers the `pii` step runs, with our additions for what presidio misses.

presidio's own recognizers are used as they are for e-mail, IP (v4 and v6) and IBAN (which
gets the case-insensitive flags presidio's default registry gives it). The others are ours or
narrowed versions of presidio's, all plain presidio `PatternRecognizer`s:

- `PhoneFormatRecognizer`: presidio's `PhoneRecognizer` (libphonenumber, 8 regions) misses
  many of the phone numbers in presidio-research's synthetic set. Numbers written in the local
  formats of other countries (`78 651 450`, `60-56-85-91`, `+41 (0)96 471 07 95`,
  `0961-7596216`, `345-899-3560x4587`, `9498777106`) are missed. This recognizer matches
  digit groups joined by one separator, with an optional country code, `(0)` trunk prefix,
  area code in brackets and extension, and rejects what looks like a date, a year range, an
  IPv4 address, a decimal number or an amount.
- `CardRecognizer`: presidio's pattern covers 13-16 digit cards starting with 3-6 only; this
  one takes 12-19 digits (plain, in groups of four, or Amex/Diners 4-6-5), every issuer prefix
  in use (Visa, Mastercard 51-55 and 2221-2720, Amex, Diners, Discover, JCB 35/2131/1800,
  Maestro, UnionPay, Mir) and the Luhn checksum.
- `SsnRecognizer`: presidio's `UsSsnRecognizer` (and its checks: no 000/666 area, no 00 group,
  no 0000 serial, no sample numbers) with one 3-2-4 pattern. Its "very weak" patterns (any
  9-digit number, 5-4, 3-6) need context words to be useful, and context needs an NLP pipeline
  over the whole text, which is what the step avoids. Areas 900-999 are never issued (they
  are ITINs), and a 3-2-4 group inside a longer run (an ISBN: 978-83-7181-510-2) is not an SSN.
- `url_recognizer()`: presidio's `UrlRecognizer`, except that a bare `word.Tld` with a
  capitalized top-level domain is a sentence end without a space (`in 1860.It was`).

Scores decide overlaps (see `engine.resolve`): a checksum-validated match (card, IBAN,
e-mail) scores 1.0, IP 0.6, SSN 0.5, phone 0.4, a bare 10-11 digit phone 0.3.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer

from curation.pii.patterns import (
    CARD_PATTERNS,
    PHONE_PATTERNS,
    SSN_PATTERN,
    digits_of,
    plausible_phone,
    starts_address,
    valid_card,
)


class PhoneFormatRecognizer(PatternRecognizer):
    """Phone numbers written as digit groups, in the formats libphonenumber's matcher misses."""

    PATTERNS = [Pattern(*p) for p in PHONE_PATTERNS]
    CONTEXT = ["phone", "telephone", "tel", "cell", "mobile", "call", "fax"]

    def __init__(self, supported_language: str = "en"):
        super().__init__(supported_entity="PHONE_NUMBER", patterns=self.PATTERNS,
                         context=self.CONTEXT, supported_language=supported_language,
                         name="PhoneFormatRecognizer")

    def invalidate_result(self, pattern_text: str) -> bool:
        return not plausible_phone(pattern_text)

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None, regex_flags=None):
        """presidio's pattern matching, less bare two-group numbers that start an address."""
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        return [r for r in results if not starts_address(text, r.start, r.end)]


class CardRecognizer(PatternRecognizer):
    """Payment card numbers of every issuer and length, validated by prefix and Luhn."""

    PATTERNS = [Pattern(*p) for p in CARD_PATTERNS]
    CONTEXT = ["credit", "card", "visa", "mastercard", "amex", "discover", "jcb", "maestro"]

    def __init__(self, supported_language: str = "en"):
        super().__init__(supported_entity="CREDIT_CARD", patterns=self.PATTERNS,
                         context=self.CONTEXT, supported_language=supported_language,
                         name="CardRecognizer")

    def validate_result(self, pattern_text: str) -> bool:
        return valid_card(digits_of(pattern_text))


def ssn_recognizer(supported_language: str = "en") -> PatternRecognizer:
    """presidio's US SSN recognizer with the one pattern that needs no context: 3-2-4."""
    from presidio_analyzer.predefined_recognizers import UsSsnRecognizer

    class SsnRecognizer(UsSsnRecognizer):
        def invalidate_result(self, pattern_text: str) -> bool:
            return pattern_text.startswith("9") or super().invalidate_result(pattern_text)

    return SsnRecognizer(patterns=[Pattern(*SSN_PATTERN)], supported_language=supported_language,
                         name="SsnRecognizer")


def url_recognizer(supported_language: str = "en") -> PatternRecognizer:
    """presidio's URL recognizer, less sentence ends that lack a space: "in 1860.It was"."""
    from presidio_analyzer.predefined_recognizers import UrlRecognizer

    class SentenceAwareUrlRecognizer(UrlRecognizer):
        def invalidate_result(self, pattern_text: str) -> bool:
            if pattern_text.lower().startswith(("http", "www", "'", '"')) or "/" in pattern_text:
                return False
            tld = pattern_text.rsplit(".", 1)[-1]
            return tld[:1].isupper() and tld[1:].islower()

    return SentenceAwareUrlRecognizer(supported_language=supported_language,
                                      name="UrlRecognizer")


def build(entities: Iterable[str], phone_regions: list[str]) -> list[EntityRecognizer]:
    """The pattern recognizers for these presidio entity names (NER is separate)."""
    from presidio_analyzer.predefined_recognizers import (
        EmailRecognizer,
        IbanRecognizer,
        IpRecognizer,
        PhoneRecognizer,
    )

    wanted = set(entities)
    recognizers: list[EntityRecognizer] = []
    if "EMAIL_ADDRESS" in wanted:
        recognizers.append(EmailRecognizer())
    if "PHONE_NUMBER" in wanted:
        recognizers.append(PhoneFormatRecognizer())
        if phone_regions:
            recognizers.append(PhoneRecognizer(supported_regions=tuple(phone_regions)))
    if "CREDIT_CARD" in wanted:
        recognizers.append(CardRecognizer())
    if "IP_ADDRESS" in wanted:
        recognizers.append(IpRecognizer())
    if "IBAN_CODE" in wanted:  # case-insensitive, as presidio's default registry builds it
        recognizers.append(IbanRecognizer(regex_flags=re.DOTALL | re.MULTILINE | re.IGNORECASE))
    if "US_SSN" in wanted:
        recognizers.append(ssn_recognizer())
    if "URL" in wanted:
        recognizers.append(url_recognizer())
    return recognizers
