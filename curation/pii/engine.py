"""Find PII spans in a text with presidio, quickly: screen first, analyze only what may match.

presidio's default `AnalyzerEngine` runs a spaCy pipeline and about twenty recognizers over the
whole text. Most text holds no PII, and each structured type needs a cheap "anchor" to be
present: four digits close together (phone, card, SSN, IBAN, IPv4), two colons at most four
hex digits apart (IPv6), `@` (e-mail), a dot followed by two letters (URL's top-level domain).
`PiiAnalyzer` finds the anchors with plain regular expressions, cuts a window of `WINDOW`
characters around each (widened to whitespace, so no token is cut and no match can differ
from a run over the whole text), joins a group's windows with a separator no pattern can
cross, and runs only the presidio recognizers configured, once per group and document.
Spans are mapped back to the original offsets and overlaps resolved (`resolve`).

PERSON and LOCATION need a spaCy NER model run over the whole text (in chunks, batched
through `nlp.pipe` by presidio's `SpacyNlpEngine`); that is the slow path, taken only when
the user configures a model.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from curation.pii import offline

# Our entity names (YAML and columns) -> presidio's entity names.
ENTITIES: dict[str, str] = {
    "EMAIL": "EMAIL_ADDRESS",
    "PHONE": "PHONE_NUMBER",
    "CREDIT_CARD": "CREDIT_CARD",
    "IP": "IP_ADDRESS",
    "IBAN": "IBAN_CODE",
    "US_SSN": "US_SSN",
    "URL": "URL",
    "PERSON": "PERSON",
    "LOCATION": "LOCATION",
}
FROM_PRESIDIO = {v: k for k, v in ENTITIES.items()}
NER_ENTITIES = ("PERSON", "LOCATION")

WINDOW = 80  # characters kept on each side of an anchor; longer than any spaced entity
SEPARATOR = "\n\x00\n"  # joins windows; no recognizer matches across a NUL
MAX_NER_CHARS = 100_000  # spaCy's chunk size for the NER path (its limit is 1,000,000)

_ANCHORS = {
    "digits": r"\d(?:\D{0,3}\d){3}",  # phone, card, SSN, IBAN, IPv4: four digits close together
    "ipv6": r":[0-9A-Fa-f]{0,4}:",  # every IPv6 address has two colons at most 4 hex apart
    "at": r"@",
    "domain": r"\.[A-Za-z]{2}",  # a URL's host ends in a dot and a TLD
}
_WARM_UP = ("mail a@example.com, call +1 555-010-0199, card 4111 1111 1111 1111, "
            "host 10.0.0.1 or fe80::1, IBAN GB82WEST12345698765432, SSN 078-05-1121, "
            "see https://example.com/x")
_ANCHORS_FOR = {
    "PHONE": ("digits",), "CREDIT_CARD": ("digits",), "IBAN": ("digits",),
    "US_SSN": ("digits",), "IP": ("digits", "ipv6"), "EMAIL": ("at",), "URL": ("domain",),
}


@dataclass(frozen=True, slots=True)
class Span:
    """One PII entity: character offsets into the analyzed text, our type name, its score."""

    start: int
    end: int
    entity: str
    score: float


class ModelNotInstalled(ValueError):
    """The configured spaCy model is neither an installed package nor a pipeline directory."""


def check_spacy_model(name: str) -> None:
    """Raise `ModelNotInstalled` unless `name` can be loaded without a download."""
    import spacy.util

    if not (spacy.util.is_package(name) or (Path(name) / "config.cfg").is_file()):
        raise ModelNotInstalled(
            f"spaCy model '{name}' is not installed; install its package (e.g. "
            f"`python -m spacy download {name}` on a machine with internet, or pip install "
            "the wheel) or give the path of a saved pipeline directory. gristmill never "
            "downloads models itself")


class PiiAnalyzer:
    """presidio recognizers for the configured entities only, run on screened windows.

    Build it once per process (it loads recognizers and, for NER, a spaCy model), then call
    `analyze(text)` per document. Recognizers that share anchors form a group; a group runs
    once per document on its own windows, joined into one string (a batch), so a text
    without `@` never reaches the e-mail recognizer and one without digits never reaches
    the phone, card, IBAN or SSN recognizers.
    """

    def __init__(self, entities: list[str], *, spacy_model: str | None = None,
                 phone_regions: Sequence[str] = (), min_score: float = 0.0,
                 prescreen: bool = True):
        offline.import_presidio(keep_torch=spacy_model is not None)
        # presidio logs matched text in some error paths (e.g. an IBAN that fails to
        # validate); PII must never reach a log, so only its critical messages get through.
        for name in ("presidio-analyzer", "presidio-anonymizer"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        from curation.pii import recognizers

        self.entities = list(entities)
        self.min_score = min_score
        self.prescreen = prescreen
        ner_entities = [e for e in self.entities if e in NER_ENTITIES]
        if ner_entities and not spacy_model:
            raise ValueError(f"{', '.join(ner_entities)} need a spaCy NER model "
                             "(spacy_model: en_core_web_sm, or a pipeline directory)")
        regions = list(phone_regions)  # presidio's libphonenumber recognizer; off when empty
        groups: dict[tuple[str, ...], list] = {}
        for entity in self.entities:
            if entity in NER_ENTITIES:
                continue
            presidio_name = ENTITIES[entity]
            for recognizer in recognizers.build([presidio_name], regions):
                groups.setdefault(_ANCHORS_FOR[entity], []).append((recognizer, [presidio_name]))
        self._groups = list(groups.items())
        self._anchors = {name: re.compile(_ANCHORS[name])
                         for anchors, _ in self._groups for name in anchors}
        self._ner = _NerAnalyzer(spacy_model, ner_entities) if ner_entities else None
        # Compile every pattern and load tldextract's suffix list now, not in the first document.
        self.analyze(_WARM_UP)

    def analyze(self, text: str) -> list[Span]:
        """Non-overlapping spans in text order (see `resolve`)."""
        found: list[Span] = []
        hits: dict[str, list[tuple[int, int]]] = {}
        for anchors, members in self._groups:
            if not self.prescreen:
                found += _run(members, text, 0)
                continue
            for name in anchors:
                if name not in hits:
                    hits[name] = [m.span() for m in self._anchors[name].finditer(text)]
            ranges = hits[anchors[0]] if len(anchors) == 1 else sorted(
                r for name in anchors for r in hits[name])
            if ranges:
                found += _run_windows(members, text, windows(text, ranges))
        if self._ner is not None:
            found += self._ner.analyze(text)
        return resolve([s for s in found if s.score >= self.min_score])

    def windows(self, text: str) -> list[tuple[int, int]]:
        """The windows of all anchors (for inspection; `analyze` windows per group)."""
        ranges = sorted(m.span() for rx in self._anchors.values() for m in rx.finditer(text))
        return windows(text, ranges) if ranges else []


def windows(text: str, ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merged [start, end) windows around sorted anchor ranges, widened to whitespace."""
    n, merged = len(text), []
    for a, b in ranges:
        start, end = max(0, a - WINDOW), min(n, b + WINDOW)
        if merged and start <= merged[-1][1] + WINDOW:
            if end > merged[-1][1]:
                merged[-1][1] = end
        else:
            merged.append([start, end])
    return [(_token_start(text, s), _token_end(text, e)) for s, e in merged]


def _run(members: list, text: str, offset: int) -> list[Span]:
    """Each recognizer of a group over one text; offsets shifted by `offset`."""
    spans = []
    for recognizer, entities in members:
        for r in recognizer.analyze(text, entities, None):
            spans.append(Span(r.start + offset, r.end + offset, FROM_PRESIDIO[r.entity_type],
                              r.score))
    return spans


def _run_windows(members: list, text: str, wins: list[tuple[int, int]]) -> list[Span]:
    """Run a group once over its windows joined by SEPARATOR; map spans back."""
    if len(wins) == 1:
        start, end = wins[0]
        return _run(members, text[start:end], start)
    starts, pieces, position = [], [], 0
    for start, end in wins:
        starts.append(position)
        pieces.append(text[start:end])
        position += end - start + len(SEPARATOR)
    spans = []
    for span in _run(members, SEPARATOR.join(pieces), 0):
        i = bisect.bisect_right(starts, span.start) - 1
        shift = wins[i][0] - starts[i]
        spans.append(Span(span.start + shift, span.end + shift, span.entity, span.score))
    return spans


_WHITESPACE = (" ", "\n", "\t", "\r")
_MAX_TOKEN = 4096  # a window edge never moves further than this to reach whitespace


def _token_start(text: str, i: int) -> int:
    """The start of the whitespace-delimited token that holds position i (or i itself)."""
    if i <= 0:
        return 0
    lo = max(0, i - _MAX_TOKEN)
    return max(text.rfind(ch, lo, i) for ch in _WHITESPACE) + 1 or lo


def _token_end(text: str, i: int) -> int:
    """The end of the token that holds position i - 1."""
    n = len(text)
    if i >= n:
        return n
    hi = min(n, i + _MAX_TOKEN)
    ends = [p for p in (text.find(ch, i, hi) for ch in _WHITESPACE) if p >= 0]
    return min(ends) if ends else hi


def resolve(spans: list[Span]) -> list[Span]:
    """Overlapping spans become one span over their union, typed by the best of them.

    The best is the highest score (then the longest). Masking the union leaves no piece of
    any candidate visible, and each entity is counted once.
    """
    if not spans:
        return []
    spans = sorted(spans, key=lambda s: (s.start, -s.end))
    out: list[Span] = []
    group = [spans[0]]
    end = spans[0].end
    for span in spans[1:]:
        if span.start < end:
            group.append(span)
            end = max(end, span.end)
        else:
            out.append(_merge(group, end))
            group, end = [span], span.end
    out.append(_merge(group, end))
    return out


def _merge(group: list[Span], end: int) -> Span:
    if len(group) == 1:
        return group[0]
    best = max(group, key=lambda s: (s.score, s.end - s.start))
    return Span(group[0].start, end, best.entity, best.score)


class _NerAnalyzer:
    """PERSON / LOCATION from a spaCy NER model through presidio's SpacyNlpEngine."""

    def __init__(self, model: str, entities: list[str]):
        check_spacy_model(model)
        from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
        from presidio_analyzer.predefined_recognizers import SpacyRecognizer

        class LocalSpacyNlpEngine(SpacyNlpEngine):
            """presidio's spaCy engine that loads an installed model and never downloads."""

            def load(self) -> None:
                import spacy

                name = self.models[0]["model_name"]
                nlp = spacy.load(name)
                keep = {"tok2vec", "transformer", "ner", "entity_ruler", "span_ruler"}
                disable = [p for p in nlp.pipe_names if p not in keep]
                nlp.select_pipes(disable=disable)
                self.nlp = {"en": nlp}

        self.entities = [ENTITIES[e] for e in entities]
        self.engine = LocalSpacyNlpEngine(
            models=[{"lang_code": "en", "model_name": model}],
            ner_model_configuration=NerModelConfiguration())
        self.engine.load()
        self.recognizer = SpacyRecognizer(supported_entities=self.entities)

    def analyze(self, text: str) -> list[Span]:
        chunks = list(_chunks(text, MAX_NER_CHARS))
        spans = []
        artifacts = self.engine.process_batch([c for _, c in chunks], "en", batch_size=16)
        for (offset, chunk), (_, nlp_artifacts) in zip(chunks, artifacts, strict=True):
            for r in self.recognizer.analyze(chunk, self.entities, nlp_artifacts):
                spans.append(Span(r.start + offset, r.end + offset,
                                  FROM_PRESIDIO[r.entity_type], r.score))
        return spans


def _chunks(text: str, size: int):
    """(offset, piece) pieces of at most `size` characters, cut at a newline or space."""
    start, n = 0, len(text)
    while start < n:
        end = min(n, start + size)
        if end < n:
            cut = max(text.rfind("\n", start, end), text.rfind(" ", start, end))
            if cut > start:
                end = cut + 1
        yield start, text[start:end]
        start = end
