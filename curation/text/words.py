# ruff: noqa: RUF001  (this module is about Unicode punctuation: the look-alikes are meant)
"""The word and sentence tokenizer the heuristic filters share.

Words follow the published implementations (datatrove 0.10, which tokenizes English with a
blank spaCy pipeline): text is split at whitespace, and each chunk is split further into
prefixes (opening punctuation, quotes, currency), suffixes (closing punctuation, `'s`, a
final period after a lowercase letter or a digit, units after a number), infixes (hyphens
and slashes between letters, `...`) and English contractions (`don't` -> `do n't`), while
URLs, e-mail addresses and common abbreviations (`Mr.`, `e.g.`) stay whole. The rules are
written here from spaCy's documented behaviour, not taken from its code. On 771 real web
documents they give datatrove's tokens but for 26 of 540,884, and every filter decision is
the same (benchmarks/heuristics_vs_datatrove.py, docs/steps-heuristics.md). Chunks repeat a
lot, so each distinct chunk is tokenized once per process and cached.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from itertools import chain, pairwise
from typing import Any

from curation.text.chars import SENTENCE_END, char_class, code_points_class, ranges_class

_DIGITS = "0123456789"
_PUNCT = "…,:;!?¿؟¡()[]{}<>_#*&。？！，、；：～·।،۔؛٪"
_QUOTES = "'\"”“`‘´’‚,„»«「」『』（）〔〕【】《》〈〉〈〉⟦⟧"
_CURRENCY_1 = "$£€¥฿₽﷼" + "".join(map(chr, range(0x20A0, 0x20C0)))
_CURRENCY_N = ("US$", "C$", "A$")
# units that split off a number before them ("10km" -> "10" "km")
_UNITS_TEXT = (
    "km km² km³ m m² m³ dm dm² dm³ cm cm² cm³ mm mm² mm³ ha µm nm yd in ft kg g mg µg t lb oz "
    "m/s km/h kmh mph hPa Pa mbar mb MB kb KB gb GB tb TB T G M K % км км² км³ м м² м³ дм дм² "
    "дм³ см см² см³ мм мм² мм³ нм кг г мг м/с км/ч кПа Па мбар Кб КБ кб Мб МБ мб Гб ГБ гб Тб "
    "ТБ")
_UNITS = _UNITS_TEXT.split()


# count as both lowercase and uppercase. Other scripts (Armenian, Georgian, Thai, ...) are
# not letters to it, so their words are never split on "." or "-".
_CASED_BLOCKS = [(0x41, 0x5A), (0x61, 0x7A), (0xC0, 0x24F), (0x386, 0x3CE), (0x400, 0x4FF),
                 (0x1D00, 0x1D9A), (0x1E00, 0x1EFF), (0x2C60, 0x2C7F), (0xA722, 0xA7FA),
                 (0xAB30, 0xAB64), (0xFF21, 0xFF5A)]
_UNCASED = (
    "591-5F4 620-64A 66E-6D5 6E5-6FF 750-77F 8A0-8BD 900-9FF B80-CFF D80-DFF 1100-137F "
    "2E80-2FDF 2FF0-30FF 31C0-31EF 3200-4DBF 4E00-9FFF AC00-D7AF F900-FAFF FB1D-FBB1 "
    "FBD3-FD3D FD50-FDC7 FDF0-FDFB FE30-FE4F FE70-FEFC 1EE00-1EEBB 1F200-1F2FF "
    "20000-2A6DF 2A700-2EBEF 2F800-2FA1F")


class _Rules:
    """The tokenizer's compiled patterns (built on first use: compiling them is slow)."""

    def __init__(self) -> None:
        def cased(predicate) -> str:
            return code_points_class(cp for low, high in _CASED_BLOCKS
                                     for cp in range(low, high + 1) if predicate(chr(cp)))

        uncased = ranges_class(_UNCASED)
        lower = cased(str.islower) + uncased
        upper = cased(str.isupper) + uncased
        alpha = cased(lambda c: c.islower() or c.isupper()) + uncased
        # symbols (category So: arrows, boxes, dingbats, emoji, ...) always split off. The
        # regex engine tests a class of characters past U+FFFF range by range, so those are
        # only tried on such characters.
        so = [cp for cp in range(0xA0, 0x30000)
              if not 0xD800 <= cp < 0xE000 and unicodedata.category(chr(cp)) == "So"]
        icons_bmp = code_points_class(cp for cp in so if cp < 0x10000)
        icons_astral = code_points_class(cp for cp in so if cp >= 0x10000)
        icons = f"(?:[{icons_bmp}]|(?=[\U00010000-\U0010ffff])[{icons_astral}])"
        quotes = re.escape(_QUOTES)
        self.lower = re.compile(f"[{lower}]").match
        self.upper = re.compile(f"[{upper}]").match
        self.icon = re.compile(icons).match
        # every infix below starts with one of these characters
        self.infix_start = re.compile(
            f"[.…,+\\-*^–—~:<>=/{icons_bmp}\U00010000-\U0010ffff]").search
        # no prefix, suffix, infix or URL rule applies to a chunk without any of these
        self.rule_char = re.compile(
            "[" + re.escape("".join(sorted(_PREFIX_CHARS | _SUFFIX_CHARS)))
            + f"0-9.…,+\\-*^–—~:<>=/'’{icons_bmp}\U00010000-\U0010ffff]").search
        self.infixes = re.compile(
            rf"\.\.+|…|{icons}"
            rf"|(?<=[0-9])[+\-*^](?=[0-9-])"
            rf"|(?<=[{lower}{quotes}])\.(?=[{upper}{quotes}])"
            rf"|(?<=[{alpha}]),(?=[{alpha}])"
            rf"|(?<=[{alpha}0-9])(?:-|–|—|--|---|——|~)(?=[{alpha}])"
            rf"|(?<=[{alpha}0-9])[:<>=/](?=[{alpha}])").finditer
        # Host names and URLs stay one token: optional scheme, optional user@, a dotted host
        # with a lowercase top-level domain (or a public IPv4 address), port and path.
        self.url = re.compile(
            r"(?:[\w+\-.]{2,}://)?(?:\S+(?::\S*)?@)?"
            r"(?:(?:[1-9]\d?|1\d\d|2[01]\d|22[0-3])(?:\.(?:1?\d{1,2}|2[0-4]\d|25[0-5])){2}"
            r"\.(?:[1-9]\d?|1\d\d|2[0-4]\d|25[0-4])"
            r"|(?:(?:[A-Za-z0-9\u00a1-\uffff][A-Za-z0-9\u00a1-\uffff_-]{0,62})?"
            rf"[A-Za-z0-9\u00a1-\uffff]\.)+[{lower}]{{2,63}})"
            r"(?::\d{2,5})?(?:[/?#]\S*)?").fullmatch
        self.private_ip = re.compile(
            r"(?:(?:10|127)(?:\.\d{1,3}){3}|(?:169\.254|192\.168)(?:\.\d{1,3}){2}"
            r"|172\.(?:1[6-9]|2\d|3[0-1])(?:\.\d{1,3}){2})").match


_RULES: _Rules | None = None


def _rules() -> _Rules:
    global _RULES
    if _RULES is None:
        _RULES = _Rules()
    return _RULES


def _is_lower(c: str) -> bool:  # lowercase, or a letter of a script without case
    return _rules().lower(c) is not None


def _is_upper(c: str) -> bool:
    return _rules().upper(c) is not None


def _is_icon(c: str) -> bool:
    return c >= "\xa0" and _rules().icon(c) is not None


def _is_url(s: str) -> bool:
    if "." not in s:
        return False
    rules = _rules()
    if rules.url(s) is None:
        return False
    host = s.split("://", 1)[-1]
    host = host.rsplit("@", 1)[-1] if "@" in host.split("/", 1)[0] else host
    return rules.private_ip(host) is None


_AFTER_NUMBER = frozenset([*_UNITS, *_CURRENCY_N, *_CURRENCY_1, "+"])
_DIGIT_TAIL_RE = re.compile(r"[0-9]([^0-9]+)\Z")
_PREFIX_CHARS = frozenset("§%=—–" + _PUNCT + _QUOTES + _CURRENCY_1)
_SUFFIX_CHARS = frozenset(_PUNCT + _QUOTES + "—–")
# a final "." splits off after these (besides lowercase letters)
_DOT_AFTER = frozenset(_DIGITS + "%²-+" + _PUNCT + _QUOTES + "|\\(?:)")

# ---------------------------------------------------------------------------------------
# Tokenizer exceptions: strings that are kept whole or split in a fixed way


def _exceptions() -> dict[str, tuple[str, ...]]:
    exc: dict[str, tuple[str, ...]] = {}

    def both(word: str, *parts: str) -> None:
        """Add `word` (split into `parts`) and its title-cased form."""
        exc[word] = parts
        exc[word[0].upper() + word[1:]] = (parts[0][0].upper() + parts[0][1:], *parts[1:])

    def contractions(stem: str, endings: list[str]) -> None:
        for ending in endings:
            for apos in ("'", "’"):
                pieces = [p for p in ending.split("+") if p]
                both(stem + "".join(apos + p for p in pieces), stem, *(apos + p for p in pieces))
            both(stem + ending.replace("+", ""), stem, *ending.split("+")[1:])

    contractions("i", ["+m", "+ll", "+ll+ve", "+d", "+d+ve", "+ve"])
    exc.update({"i'ma": ("i", "'m", "a"), "I'ma": ("I", "'m", "a"),
                "ima": ("i", "m", "a"), "Ima": ("I", "m", "a")})
    for pron in ("you", "he", "she", "it", "we", "they"):
        contractions(pron, ["+ll", "+ll+ve", "+d", "+d+ve"])
    for pron in ("you", "we", "they"):
        contractions(pron, ["+ve", "+re"])
    for pron in ("he", "she", "it"):
        contractions(pron, ["+s"])
    for word in ("who", "what", "when", "where", "why", "how", "there", "that", "this",
                 "these", "those"):
        endings = ["+ll", "+ll+ve", "+d", "+d+ve"]
        if word not in ("these", "those"):
            endings.append("+s")
        if word not in ("that", "this"):
            endings += ["+re", "+ve"]
        contractions(word, endings)
    for verb in ("ca", "could", "do", "does", "did", "had", "may", "might", "must", "need",
                 "ought", "sha", "should", "wo", "would"):
        for apos in ("'", "’"):
            both(f"{verb}n{apos}t", verb, f"n{apos}t")
            both(f"{verb}n{apos}t{apos}ve", verb, f"n{apos}t", f"{apos}ve")
        both(f"{verb}nt", verb, "nt")
        both(f"{verb}ntve", verb, "nt", "ve")
    for verb in ("could", "might", "must", "should", "would"):
        for apos in ("'", "’"):
            both(f"{verb}{apos}ve", verb, f"{apos}ve")
        both(f"{verb}ve", verb, "ve")
    for verb in ("ai", "are", "is", "was", "were", "have", "has", "dare"):
        for apos in ("'", "’"):
            both(f"{verb}n{apos}t", verb, f"n{apos}t")
        both(f"{verb}nt", verb, "nt")
    for word in ("doin", "goin", "nothin", "nuthin", "havin", "lovin", "somethin"):
        for tail in ("", "'", "’"):
            both(word + tail, word + tail)
    for word in ("em", "ll", "nuff"):
        for head in ("", "'", "’"):
            exc[head + word] = (head + word,)
    for word in ("cause", "cos", "coz", "cuz", "bout"):
        for head in ("'", "’"):
            exc[head + word] = (head + word,)
            exc[head + word.title()] = (head + word.title(),)
    for hour in range(1, 13):
        for period in ("am", "a.m.", "pm", "p.m."):
            exc[f"{hour}{period}"] = (str(hour), period)
    both("cannot", "can", "not")
    both("gonna", "gon", "na")
    both("gotta", "got", "ta")
    for apos in ("'", "’"):
        both(f"let{apos}s", "let", f"{apos}s")
        both(f"y{apos}all", f"y{apos}", "all")
        both(f"ma{apos}am", f"ma{apos}am")
        both(f"o{apos}clock", f"o{apos}clock")
        both(f"ol{apos}", f"ol{apos}")
    both("yall", "y", "all")
    both("ol", "ol")
    for apos in ("'", "’"):
        both(f"c{apos}mon", f"c{apos}m", "on")
    both("not've", "not", "'ve")
    both("notve", "not", "ve")
    for word in ("'s", "'S", "‘s", "‘S", "’s", "’S", "'re", "'d", "’d", "’re", "’ll", "'ll",
                 "and/or", "w/o", "C++", "'", "''", "’", "’’", "—"):
        exc[word] = (word,)
    abbreviations = (
        "Mt. Ak. Ala. Apr. Ariz. Ark. Aug. Calif. Colo. Conn. Dec. Del. Feb. Fla. Ga. Ia. Id. "
        "Ill. Ind. Jan. Jul. Jun. Kan. Kans. Ky. La. Mar. Mass. Mich. Minn. Miss. N.C. N.D. "
        "N.H. N.J. N.M. N.Y. Neb. Nebr. Nev. Nov. Oct. Okla. Ore. Pa. S.C. Sep. Sept. Tenn. "
        "Va. Wash. Wis. a.m. Adm. Bros. co. Co. Corp. D.C. Dr. e.g. E.g. E.G. Gen. Gov. i.e. "
        "I.e. I.E. Inc. Jr. Ltd. Md. Messrs. Mo. Mont. Mr. Mrs. Ms. p.m. Ph.D. Prof. Rep. "
        "Rev. Sen. St. vs. v.s. ä. ö. ü.")
    for word in abbreviations.split() + [f"{c}." for c in "abcdefghijklmnopqrstuvwxyz"]:
        exc[word] = (word,)
    emoticons = (
        ":) :-) :)) :-)) :))) :-))) (: (-: =) (= :] :-] [: [-: [= =] :o) (o: :} :-} 8) 8-) "
        "(-8 ;) ;-) (; (-; :( :-( :(( :-(( :((( :-((( ): )-: =( >:( :') :'-) :'( :'-( :/ :-/ "
        "=/ =| :| :-| ]= =[ :1 :P :-P :p :-p :O :-O :o :-o :0 :-0 :() >:o :* :-* :3 :-3 =3 "
        ":> :-> :X :-X :x :-x :D :-D ;D ;-D =D xD XD xDD XDD 8D 8-D ^_^ ^__^ ^___^ >.< >.> "
        "<.< ._. ;_; -_- -__- v.v V.V v_v V_V o_o o_O O_o O_O 0_o o_0 0_0 o.O O.o O.O o.o "
        "0.0 o.0 0.o @_@ <3 <33 <333 </3 (^_^) (-_-) (._.) (>_<) (*_*) (¬_¬) ಠ_ಠ ಠ︵ಠ (ಠ_ಠ) "
        "¯\\(ツ)/¯ (╯°□°）╯︵┻━┻ ><(((*>")
    for word in emoticons.split():
        exc[word] = (word,)
    for unit in "cfkCFK":
        exc[f"°{unit}."] = ("°", unit, ".")
    for word in ("Ill", "ill", "Its", "its", "Hell", "hell", "Shell", "shell", "Shed", "shed",
                 "were", "Were", "Well", "well", "Whore", "whore"):
        exc.pop(word, None)
    return exc


_EXCEPTIONS = _exceptions()

# ---------------------------------------------------------------------------------------
# Chunk tokenizer


def _prefix_len(s: str) -> int:
    c = s[0]
    if c in _PREFIX_CHARS:
        return 1
    if c == ".":
        n = len(s) - len(s.lstrip("."))
        return n if n >= 2 else 0
    if c == "+":
        return 0 if len(s) > 1 and s[1] in _DIGITS else 1
    for cur in _CURRENCY_N:
        if s.startswith(cur):
            return len(cur)
    if _is_icon(c):
        return 1
    return 0


def _suffix_len(s: str) -> int:
    n = len(s)
    start = n
    last = s[-1]
    if last in _SUFFIX_CHARS or _is_icon(last):
        start = n - 1
        if last == "…" and n >= 2 and s[-2] == "…":
            start = n - 2
    elif last == ".":
        dots = n - len(s.rstrip("."))
        if dots >= 2:
            start = n - dots
        elif n >= 2:
            prev = s[-2]
            if (prev in _DOT_AFTER or _is_lower(prev)
                    or (n >= 3 and _is_upper(prev) and _is_upper(s[-3]))
                    or (n >= 3 and s[-3] == "°" and prev in "FfCcKk")):
                start = n - 1
    if n >= 3 and s[-2:] in ("'s", "'S", "’s", "’S"):
        start = min(start, n - 2)
    # a unit, a currency or "+" right after a digit
    if not s.isalpha():
        tail = _DIGIT_TAIL_RE.search(s)
        if tail is not None and tail.group(1) in _AFTER_NUMBER:
            start = min(start, tail.start(1))
    return n - start


def _split_infixes(s: str) -> list[str]:
    rules = _rules()
    if rules.infix_start(s, 1) is None:
        return [s]
    out, start = [], 0
    for m in rules.infixes(s):
        a, b = m.span()
        if a == 0:
            continue
        if a != start:
            out.append(s[start:a])
        out.append(s[a:b])
        start = b
    if start < len(s):
        out.append(s[start:])
    return out


def tokenize_chunk(chunk: str) -> tuple[str, ...]:
    """Split one whitespace-free chunk into word tokens (see the module docstring)."""
    special = _EXCEPTIONS.get(chunk)
    if special is not None:
        return special
    if chunk.isalnum():
        # letters and digits: only a unit or a currency after a number splits off ("10km")
        if chunk.isalpha() or chunk.isdigit():
            return (chunk,)
        tail = _DIGIT_TAIL_RE.search(chunk)
        if tail is None or tail.group(1) not in _AFTER_NUMBER:
            return (chunk,)
        head = chunk[:tail.start(1)]
        return (*_EXCEPTIONS.get(head, (head,)), tail.group(1))
    if _rules().rule_char(chunk) is None:
        return (chunk,)
    # Fast paths for the common shapes; each gives what the general rules give (the tests
    # check them against each other): "word," "word." "(word)" "word's" "well-known".
    body, last = chunk[:-1], chunk[-1]
    if body.isalpha() or body.isdigit():
        closes = _closes(body, last)
        if closes is not None:
            return _pieces(body, last) if closes else (chunk,)
    elif chunk[-2:] in _POSSESSIVES and chunk[:-2].isalpha():
        return _pieces(chunk[:-2], chunk[-2:])
    first, rest = chunk[0], chunk[1:]
    if first in _PREFIX_CHARS:
        if rest.isalpha() or rest.isdigit():
            return _pieces(first, rest)
        middle = rest[:-1]
        if middle.isalpha() and _closes(middle, last):
            if rest in _EXCEPTIONS:  # "(Mr." keeps "Mr." whole
                return _pieces(first, rest)
            if chunk[:-1] in _EXCEPTIONS:
                return _pieces(chunk[:-1], last)
            return _pieces(first, middle, last)
    if _NUMBER_RE.fullmatch(chunk):  # "5,000" "7.76" "10:30" "09/02/2018"
        return (chunk,)
    if _NUMBER_RE.fullmatch(body) and _closes(body, last):
        return _pieces(body, last)
    if _HYPHENATED_RE.fullmatch(chunk):
        if chunk[-1].isalpha():
            return tuple(_HYPHEN_SPLIT_RE.split(chunk))
        if _closes(body, last):  # the last part may join the mark: "a-goin'"
            return tuple(_merge_exceptions([*_HYPHEN_SPLIT_RE.split(body), last]))
    return _tokenize_rules(chunk)


_POSSESSIVES = frozenset(["'s", "'S", "’s", "’S"])
# ASCII digits with single separators between them
_NUMBER_RE = re.compile(r"[0-9]+(?:[.,:/][0-9]+)+")
# ASCII words joined by single hyphens, optionally with one more character at the end
_HYPHENATED_RE = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)+[^A-Za-z0-9-]?")
_HYPHEN_SPLIT_RE = re.compile(r"(-)")


def _closes(body: str, last: str) -> bool | None:
    """Whether `last` splits off the end of `body` (letters only, or digits only);
    None when the fast paths do not decide it."""
    if last in _SUFFIX_CHARS:
        return True
    if last == ".":
        end = body[-1]
        if end in _DOT_AFTER or _is_lower(end):
            return True
        return len(body) > 1 and _is_upper(end) and _is_upper(body[-2])
    if last in _AFTER_NUMBER and body[-1] in _DIGITS:
        return True
    return None


def _pieces(*parts: str) -> tuple[str, ...]:
    """Tokens for parts split by affix rules: a part that is an exception is split its way,
    and then exceptions spanning parts are re-joined."""
    specials = [_EXCEPTIONS.get(part) for part in parts]
    if not any(specials):
        return parts
    tokens = [t for part, special in zip(parts, specials, strict=True)
              for t in (special or (part,))]
    return tuple(_merge_exceptions(tokens))


def _tokenize_rules(chunk: str) -> tuple[str, ...]:
    """The general case: peel prefixes and suffixes, then split at infixes."""
    prefixes: list[str] = []
    suffixes: list[str] = []
    s = chunk
    last = -1
    while s and len(s) != last:
        if s in _EXCEPTIONS:
            break
        last = len(s)
        pre = _prefix_len(s)
        if pre:
            rest = s[pre:]
            if rest and rest in _EXCEPTIONS:
                prefixes.append(s[:pre])
                s = rest
                break
        suf = _suffix_len(s[pre:]) if s[pre:] else 0
        if suf:
            rest = s[:-suf]
            if rest and rest in _EXCEPTIONS:
                suffixes.append(s[-suf:])
                s = rest
                break
        if pre and suf:
            prefixes.append(s[:pre])
            suffixes.append(s[-suf:])
            s = s[pre:-suf]
        elif pre:
            prefixes.append(s[:pre])
            s = s[pre:]
        elif suf:
            suffixes.append(s[-suf:])
            s = s[:-suf]
    tokens = prefixes
    if s:
        special = _EXCEPTIONS.get(s)
        if special is not None:
            tokens.extend(special)
        elif _is_url(s):
            tokens.append(s)
        else:
            tokens.extend(_split_infixes(s))
    tokens.extend(reversed(suffixes))
    if len(tokens) > 1:
        tokens = _merge_exceptions(tokens)
    return tuple(tokens)


def _merge_exceptions(tokens: list[str]) -> list[str]:
    """Re-join consecutive tokens that together spell an exception ("):", "a.", "''")
    and split them the exception's way; longer matches win."""
    n = len(tokens)
    found = []
    for i in range(n - 1):
        text = tokens[i]
        for j in range(i + 1, min(n, i + 8)):
            text += tokens[j]
            if text in _EXCEPTIONS:
                found.append((j + 1 - i, i, j + 1))
    if not found:
        return tokens
    taken = [False] * n
    chosen = []
    for _, i, j in sorted(found, reverse=True):
        if not taken[i] and not taken[j - 1]:
            chosen.append((i, j))
            for k in range(i, j):
                taken[k] = True
    out, pos = [], 0
    for i, j in sorted(chosen):
        out.extend(tokens[pos:i])
        out.extend(_EXCEPTIONS["".join(tokens[i:j])])
        pos = j
    out.extend(tokens[pos:])
    return out


_PUNCT_TOKENS: dict[str, bool] = {}


def _is_punct(token: str) -> bool:
    """Every character is Unicode punctuation (category P*)."""
    if token[0].isalnum():
        return False
    found = _PUNCT_TOKENS.get(token)
    if found is None:
        found = all(unicodedata.category(c).startswith("P") for c in token)
        if len(_PUNCT_TOKENS) < 100_000:
            _PUNCT_TOKENS[token] = found
    return found


class FillingCache(dict):
    """`fill(key)` per distinct key, computed on first lookup and kept until the keys hold
    `limit` characters, or, without `by_length`, until there are `limit` keys (then the
    cache starts over): the tokens of a chunk, the words of a line."""

    def __init__(self, fill: Callable[[str], Any], limit: int, by_length: bool = False):
        super().__init__()
        self.fill, self.limit, self.by_length, self.used = fill, limit, by_length, 0

    def __missing__(self, key: str) -> Any:
        cost = len(key) if self.by_length else 1
        if self.used + cost > self.limit:
            self.clear()
        self.used += cost
        value = self[key] = self.fill(key)
        return value

    def clear(self) -> None:
        super().clear()
        self.used = 0


# chunks repeat a lot
CHUNKS = FillingCache(tokenize_chunk, 1 << 20)
_tokens_of = CHUNKS.__getitem__


def split_words(text: str) -> list[str]:
    """The word tokens of `text`."""
    return list(chain.from_iterable(map(_tokens_of, text.split())))



_SENTENCE_END_RE = re.compile(char_class(SENTENCE_END))
# a whole chunk that holds a sentence-ending character
_END_CHUNK_RE = re.compile(rf"(?<!\S)\S*?{char_class(SENTENCE_END)}\S*")
_CHUNK_RE = re.compile(r"\S+")


def count_sentences(text: str) -> int:
    """Number of sentences (at least 1) as spaCy's rule-based sentencizer would find them:
    a new sentence starts at the first token after a sentence-ending character (a token that
    is exactly one of SENTENCE_END) that is not itself punctuation."""
    body = text[:-1]
    if body.isascii():
        if "." not in body and "!" not in body and "?" not in body:
            return 1  # no sentence end, or only one, at the very end
    elif _SENTENCE_END_RE.search(body) is None:
        return 1
    # walk the tokens of the chunks that hold a sentence end, and of the chunks after one
    # until a sentence starts; no other chunk can change the count
    starts, seen_end, done = 0, False, 0
    for found in _END_CHUNK_RE.finditer(text):
        if found.start() < done:
            continue
        chunk: re.Match[str] | None = found
        while chunk is not None:
            for token in _tokens_of(chunk.group()):
                if token in SENTENCE_END:
                    seen_end = True
                elif seen_end and not _is_punct(token):
                    starts += 1
                    seen_end = False
            done = chunk.end()
            chunk = _CHUNK_RE.search(text, done) if seen_end else None
    return starts + 1


def split_sentences(text: str) -> list[str]:
    """`text` cut into sentences (the same boundaries as `count_sentences`), stripped."""
    cuts = [0]
    seen_end = False
    for m in _CHUNK_RE.finditer(text):
        pos = m.start()
        for token in _tokens_of(m.group()):
            if token in SENTENCE_END:
                seen_end = True
            elif seen_end and not _is_punct(token):
                cuts.append(pos)
                seen_end = False
            pos += len(token)
    cuts.append(len(text))
    parts = (text[a:b].strip() for a, b in pairwise(cuts))
    return [p for p in parts if p]
