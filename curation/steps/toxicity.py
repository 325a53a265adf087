"""Toxicity filter: alt-profanity-check's classifier, scored per line and per document.

The model is the one alt-profanity-check ships inside its package (TF-IDF over words, five
linear SVMs with sigmoid calibration, averaged), loaded once per worker process from the
package's own files: nothing is downloaded. Its `predict_prob` costs tens of milliseconds
per call whatever the batch size (scikit-learn's checks, five calibrated models), so this
module reads the fitted numbers out of the model once (vocabulary, idf, SVM weights,
calibration) and computes the same probabilities with numpy: one tokenization of the text,
then every line and the whole text in one batch (equal to `predict_prob` to 1e-9;
tests/test_toxicity.py checks it).

A document's score, `toxicity`, is the larger of the whole-text score and the highest line
score. TF-IDF vectors are length-normalized, so one abusive line in a long clean document
barely moves the whole-text score; the line maximum finds it. A text under
`whole_below_words` words (a tweet, a comment) is scored as one piece: its lines are parts of
one message, and splitting it loses context. Scoring single sentences loses accuracy for the
same reason. docs/steps-toxicity-quality.md has the ROC-AUC of each choice
(benchmarks/toxicity_auc.py).
"""

from __future__ import annotations

import re
from itertools import repeat
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
from pydantic import Field, model_validator

from curation.core.document import Document
from curation.core.errors import ConfigError
from curation.core.registry import register
from curation.steps.base import FilterParams, Step


class ProfanityModel:
    """alt-profanity-check's fitted model as plain arrays: probabilities for many texts at once.

    For a text with word counts c (only words in the vocabulary), x = c * idf / ||c * idf||,
    and p = mean_k sigmoid(-(a_k * (x . w_k + c_k) + b_k)): exactly what the package's
    `predict_prob` computes with scikit-learn.
    """

    def __init__(self) -> None:
        import profanity_check.profanity_check as package  # loads the package's joblib files

        vectorizer, model = package.vectorizer, package.model
        params = vectorizer.get_params()
        expected = {"analyzer": "word", "ngram_range": (1, 1), "lowercase": True,
                    "norm": "l2", "use_idf": True, "sublinear_tf": False, "binary": False,
                    "strip_accents": None, "preprocessor": None, "tokenizer": None}
        differs = {k: params.get(k) for k, v in expected.items() if params.get(k) != v}
        if differs or model.method != "sigmoid" or list(model.classes_) != [0, 1]:
            raise RuntimeError(f"alt-profanity-check's model changed shape ({differs}, "
                               f"{model.method}); this scorer needs updating")
        self.token = re.compile(params["token_pattern"])
        self.token_or_newline = re.compile(params["token_pattern"] + "|\n")
        self.vocabulary: dict[str, int] = {w: int(i) for w, i in vectorizer.vocabulary_.items()}
        self.codes = {**self.vocabulary, "\n": _NEWLINE}
        members = model.calibrated_classifiers_
        self.idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        self.weights = np.stack([m.estimator.coef_[0] for m in members], axis=1)  # (V, K)
        self.intercepts = np.array([m.estimator.intercept_[0] for m in members])
        self.a = np.array([m.calibrators[0].a_ for m in members])
        self.b = np.array([m.calibrators[0].b_ for m in members])

    def ids(self, text: str) -> list[int]:
        """Vocabulary indices of the words of `text`, in order (stop words are not in it)."""
        get = self.vocabulary.get
        return [i for w in self.token.findall(text.lower()) if (i := get(w)) is not None]

    def predict(self, texts: list[str]) -> np.ndarray:
        """P(offensive) for each text, float64, as `profanity_check.predict_prob` gives it."""
        per_text = [self.ids(t) for t in texts]
        lengths = np.fromiter(map(len, per_text), np.int64, len(texts))
        rows = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        ids = np.fromiter((i for ids in per_text for i in ids), np.int64, int(lengths.sum()))
        return self.predict_rows(rows, ids, len(texts))

    def line_scores(self, text: str) -> np.ndarray:
        """P(offensive) of every line of `text` (split at "\\n"), then of the whole text:
        one tokenization and one batched computation for all of them."""
        tokens = self.token_or_newline.findall(text.lower())
        codes = np.fromiter(map(self.codes.get, tokens, repeat(_UNKNOWN)), np.int64,
                            len(tokens))
        line = np.cumsum(codes == _NEWLINE)
        known = codes >= 0
        ids = codes[known]
        n = text.count("\n") + 1
        rows = np.concatenate([line[known], np.full(len(ids), n)])
        return self.predict_rows(rows, np.concatenate([ids, ids]), n + 1)

    def predict_rows(self, rows: np.ndarray, ids: np.ndarray, n: int) -> np.ndarray:
        """P(offensive) for `n` texts given as (text row, vocabulary index) per word."""
        decision = np.zeros((n, len(self.intercepts)))
        if len(ids):
            vocab = len(self.idf)
            keys, counts = np.unique(rows * vocab + ids, return_counts=True)
            rows, ids = np.divmod(keys, vocab)
            values = counts * self.idf[ids]
            norms = np.sqrt(np.bincount(rows, values * values, minlength=n))
            for k in range(decision.shape[1]):
                decision[:, k] = np.bincount(rows, values * self.weights[ids, k], minlength=n)
            decision /= np.where(norms > 0, norms, 1.0)[:, None]
        decision += self.intercepts
        return (1.0 / (1.0 + np.exp(self.a * decision + self.b))).mean(axis=1)


_NEWLINE, _UNKNOWN = -1, -2
_MODEL: ProfanityModel | None = None


def profanity_model() -> ProfanityModel:
    """The model, loaded on first use in each process (scikit-learn's import takes seconds)."""
    global _MODEL
    if _MODEL is None:
        _MODEL = ProfanityModel()
    return _MODEL


def read_word_list(path: str) -> list[str]:
    """One word or phrase a line; blank lines and lines starting with # are skipped."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise ConfigError(f"toxicity.words_file: cannot read {path}: {err.strerror}") from None
    return [s for line in lines if (s := line.strip()) and not s.startswith("#")]


def word_list_pattern(words: list[str]) -> re.Pattern[str] | None:
    """A case-insensitive pattern matching any of `words` as whole words (None if empty)."""
    words = sorted({w.strip().lower() for w in words if w.strip()}, key=len, reverse=True)
    if not words:
        return None
    alternatives = "|".join(r"\s+".join(map(re.escape, w.split())) for w in words)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


class ToxicityParams(FilterParams):
    action: Literal["drop", "drop_lines"] = Field(
        "drop", description="drop: drop toxic documents; drop_lines: remove only the lines "
                            "scoring >= line_threshold (or holding a listed word)")
    max_score: float = Field(
        0.9, ge=0.0, le=1.0,
        description="drop: drop the document (toxicity:toxic) when its score `toxicity` is "
                    ">= this")
    line_threshold: float = Field(
        0.9, ge=0.0, le=1.0,
        description="a line scoring >= this is toxic (toxicity_fraction; drop_lines)")
    max_fraction: float | None = Field(
        None, gt=0.0, le=1.0,
        description="drop: also drop (toxicity:toxic_fraction) when this share of the "
                    "non-blank lines or more is toxic")
    whole_below_words: int = Field(
        50, ge=0,
        description="a text with fewer words is scored as one piece (its lines are parts of "
                    "one message); longer ones by max(whole text, highest line)")
    words: list[str] = Field(
        [], description="word list: words or phrases (whole words, any case); a line holding "
                        "one is toxic; drop: the document is dropped (toxicity:word_list)")
    words_file: str | None = Field(
        None, description="word list file, one word or phrase a line, # comments; added to "
                          "`words`")

    @model_validator(mode="after")
    def _fraction_needs_drop(self) -> ToxicityParams:
        if self.action == "drop_lines" and self.max_fraction is not None:
            raise ValueError("max_fraction applies to action: drop only")
        return self


@register
class Toxicity(Step):
    """Score lines and whole text with alt-profanity-check's model; drop toxic documents or
    lines."""

    name = "toxicity"
    Params = ToxicityParams
    columns = {"toxicity": pa.float32(), "toxicity_max": pa.float32(),
               "toxicity_fraction": pa.float32(), "toxicity_word_hits": pa.int32(),
               "toxicity_lines_removed": pa.int32()}

    def __init__(self, params=None):
        super().__init__(params)
        words = list(self.params.words)
        if self.params.words_file:
            words += read_word_list(self.params.words_file)
        self.word_pattern = word_list_pattern(words)

    def score(self, text: str) -> tuple[float, list[int], np.ndarray]:
        """The document score, the indices of the non-blank lines, and their scores."""
        probs = profanity_model().line_scores(text)
        scored = [i for i, line in enumerate(text.split("\n")) if line.strip()]
        whole, line_probs = float(probs[-1]), probs[scored]
        if len(scored) > 1 and len(text.split()) >= self.params.whole_below_words:
            return max(whole, float(line_probs.max())), scored, line_probs
        return whole, scored, line_probs

    def process(self, doc: Document) -> str | None:
        p = self.params
        score, scored, line_probs = self.score(doc.text)
        toxic = line_probs >= p.line_threshold
        hits = 0
        if self.word_pattern is not None:
            lines = doc.text.split("\n")
            toxic |= np.array([self.word_pattern.search(lines[i]) is not None for i in scored],
                              dtype=bool)
            hits = len(self.word_pattern.findall(doc.text))
        meta = doc.meta
        meta["toxicity"] = score
        meta["toxicity_max"] = float(line_probs.max()) if len(scored) else 0.0
        meta["toxicity_fraction"] = float(toxic.mean()) if len(scored) else 0.0
        meta["toxicity_word_hits"] = hits
        meta["toxicity_lines_removed"] = 0
        if p.action == "drop_lines":
            removed = meta["toxicity_lines_removed"] = int(toxic.sum())
            if removed and removed == len(scored):
                return "all_lines_toxic"
            if removed and not self.annotate_only:
                drop = {scored[i] for i in np.flatnonzero(toxic)}
                doc.set_text("\n".join(line for i, line in enumerate(doc.text.split("\n"))
                                       if i not in drop))
            return None
        if score >= p.max_score:
            return "toxic"
        if hits:
            return "word_list"
        if p.max_fraction is not None and len(scored) and \
                meta["toxicity_fraction"] >= p.max_fraction:
            return "toxic_fraction"
        return None
