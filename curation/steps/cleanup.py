"""Text cleanup: repair broken Unicode, drop invisible and control characters, normalize
whitespace, and remove boilerplate lines and the Project Gutenberg license header and footer.

Every switch is a YAML parameter, and each costs almost nothing when the text does not need
it: ASCII text skips the Unicode work entirely, ftfy runs only on text that its own mojibake
detector (`ftfy.badness.is_bad`) flags, and that detector only on text that passes a much
cheaper necessary condition of it (`MOJIBAKE_HINT_RE`); NFC runs only when
`unicodedata.is_normalized` says the text is not already NFC, and the line rules run only
when a cheap substring test finds a candidate. The step edits the text in `mode: filter`;
in `mode: annotate` it records the same columns but leaves the text as it was.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

import ftfy
import pyarrow as pa
from ftfy.badness import MOJIBAKE_CATEGORIES, is_bad
from pydantic import Field

from curation.core.document import Document
from curation.core.registry import register
from curation.steps.base import FilterParams, Step

# Mojibake repair only: no quote uncurling, width folding, ligature or HTML changes; line
# breaks, control characters and normalization are handled by this step's own switches.
FTFY_CONFIG = ftfy.TextFixerConfig(
    unescape_html=False, remove_terminal_escapes=False, fix_encoding=True,
    restore_byte_a0=True, replace_lossy_sequences=True, decode_inconsistent_utf8=True,
    fix_c1_controls=True, fix_latin_ligatures=False, fix_character_width=False,
    uncurl_quotes=False, fix_line_breaks=False, fix_surrogates=True,
    remove_control_chars=False, normalization=None, explain=False)
SURROGATE_RE = re.compile("[\ud800-\udfff]")


def _mojibake_hint() -> re.Pattern[str]:
    """A cheap necessary condition for ftfy's `is_bad`, which is slow (about 1 us per
    character, because BADNESS_RE tries ~40 alternatives at every position).

    Each alternative of BADNESS_RE needs a C1 control, Œ/œ before a non-letter, Â/Ã before
    a space or a non-ASCII character, or one of the adjacent non-ASCII pairs listed here
    (first character class, second character class), read off ftfy 6's BADNESS_RE. The
    pattern starts with the class of every possible first character, so the search skips
    ASCII, CJK and most other text in C. Tests check on clean text and on generated mojibake
    in nine encodings that it flags everything `is_bad` flags.
    """
    c = MOJIBAKE_CATEGORIES
    bad, low, up, box = c["bad"], c["lower_accented"], c["upper_accented"], c["box"]
    start, end, cur, num, law = (c["start_punctuation"], c["end_punctuation"], c["currency"],
                                 c["numeric"], c["law"])
    greek_cyrillic, c1 = c["lower_common"] + c["upper_common"], c["c1"]
    wide = bad + low + up + box + start + end + cur + num + law
    pairs = [
        (wide, bad), (bad, wide), (greek_cyrillic, bad),
        (low + greek_cyrillic + box + end + cur + num, up), (box + end + cur + num, low),
        (low + box + end, cur), (up, cur), (up + box, num + law),
        (low + up + box + cur + end, start), (start, num),
        (low + up + cur + num + box + law, end), (end, start), (cur + num + box, start),
        (up, start + cur), (box, c["kaomoji"]), (low + up + cur + num + start + end + law, box),
        (box, end), (low + up, start + end), (up, "°"),
        ("ÎÐØÙ√", "^\x00-\x7f"), ("\u00d7", "²³"), ("à", "²µ¹¼½¾"), ("≈", "°¢"), ("\u201a", "Äâó"),
        (greek_cyrillic, "Ђ"), ("ВГРСΒΓΞΟ", c1 + bad + start + end + cur + "°µ"),
        (c1 + bad + start + end + cur + "°µ", "ВГРСΒΓΞΟ"), ("βā", "€"),
    ]
    alternatives = [f"(?<=[{c1}\ud800-\udfff])", "(?<=[Œœ])(?![A-Za-z])",
                    "(?<=[ÂÃ])(?=[ \x80-\U0010ffff])"]
    alternatives += [f"(?<=[{first}])[{second}]" for first, second in pairs]
    lead = c1 + "\ud800-\udfff" + "ŒœÂÃ" + "".join(first for first, _ in pairs)
    return re.compile(f"[{lead}](?:{'|'.join(alternatives)})")


MOJIBAKE_HINT_RE = _mojibake_hint()

# Invisible characters that carry no text: zero-width space, word joiner, BOM / zero-width
# no-break space, soft hyphen. ZWJ and ZWNJ (U+200D, U+200C) are kept: Persian, Indic
# scripts and emoji sequences need them.
ZERO_WIDTH_CHARS = "\u200b\u2060\ufeff\u00ad"
ZERO_WIDTH_RE = re.compile(f"[{ZERO_WIDTH_CHARS}]")
# ANSI terminal escape sequences (colors, cursor moves), removed whole.
ANSI_ESCAPE_RE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
# Control characters (Unicode Cc) that are not whitespace; tab and the line breaks among the
# Cc characters (CR, VT, FF, FS/GS/RS, NEL) are handled by whitespace normalization.
CONTROL_RE = re.compile("[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f]")
ASCII_CONTROL_BYTES = bytes([*range(0, 9), *range(11, 32), 127])
# Line breaks other than LF: CRLF, CR, VT, FF, FS, GS, RS, NEL, line and paragraph separator.
LINE_BREAKS_ASCII = "\r\x0b\x0c\x1c\x1d\x1e"
LINE_BREAKS = LINE_BREAKS_ASCII + "\x85\u2028\u2029"
LINE_BREAK_RE = re.compile(f"\r\n?|[{LINE_BREAKS}]")

# Project Gutenberg markers, in the forms used since about 2000 ("*** START OF THE PROJECT
# GUTENBERG EBOOK TITLE ***", "THIS" in older files, "E-BOOK" in some).
GUTENBERG_START_RE = re.compile(
    r"^[ \t]*\*{3}[ \t]*START OF (?:THE|THIS) PROJECT GUTENBERG E-?BOOK\b[^\n]*(?:\n|\Z)",
    re.I | re.M)
GUTENBERG_END_RE = re.compile(
    r"^[ \t]*\*{3}[ \t]*END OF (?:THE|THIS) PROJECT GUTENBERG E-?BOOK\b", re.I | re.M)
# Older books also close the text with "End of the Project Gutenberg EBook of ..." just
# above the END marker.
GUTENBERG_END_LINE_RE = re.compile(
    r"(?:^|\n)[ \t]*End of (?:the |this )?Project Gutenberg(?:'s)?\b[^\n]*\s*\Z", re.I)
# The header (title, author, release date, short license note) is about 1,000 characters;
# a START marker further into the text than this is not treated as a header.
GUTENBERG_MAX_HEADER_CHARS = 30_000

# Boilerplate lines. A line is removed only when it is short (`boilerplate_max_chars`) and
# the WHOLE line, lowercased and stripped, matches one of these patterns: a sentence that
# merely mentions cookies or a copyright stays.
_SHARE_TARGETS = (r"facebook|twitter|x|linkedin|pinterest|reddit|whatsapp|telegram|tumblr|"
                  r"e-?mail|print|copy link")
_NAV_ITEMS = (r"home|about|about us|contact|contact us|sitemap|site map|faq|help|log ?in|"
              r"sign ?in|sign ?up|register|careers|jobs|advertise|press|blog|search|"
              r"accessibility|imprint|impressum|legal|legal notice|disclaimer|"
              r"privacy|privacy policy|privacy notice|cookie policy|cookies|cookie settings|"
              r"terms|terms of use|terms of service|terms and conditions|terms & conditions")
_POLICY_ITEMS = (r"privacy policy|privacy notice|cookie policy|cookie settings|"
                 r"cookie preferences|terms of use|terms of service|terms and conditions|"
                 r"terms & conditions")
_SEP = r"\s*[|•·]\s*"
BOILERPLATE_PATTERNS = [
    # cookie banners
    r"(?:we use cookies|(?:this|our) (?:web)?site uses cookies|by (?:using|continuing to "
    r"(?:use|browse))[^.]{0,80}cookies)\b.*\b(?:experience|site|website|browsing|consent|"
    r"accept|agree|policy|privacy|traffic|analytics|advertis\w*|personali[sz]\w*|"
    r"learn more|more info\w*|services)\b.*",
    r"(?:accept|allow|reject|decline)(?: all)? cookies\.?|manage cookies|cookie settings",
    # social sharing rows
    rf"share(?: this(?: (?:article|post|page|story))?| on| via)?\s*:?\s*"
    rf"(?:(?:{_SHARE_TARGETS})(?:\s*[,|·•/]\s*|\s+)?)+",
    r"share this(?: (?:article|post|page|story))?[:!.]?",
    # copyright lines
    r"(?:(?:©|\(c\)|copyright\b)[^\n]{0,80}?[.,]?\s*)?all rights reserved\.?",
    # newsletter / subscription prompts
    r"click here to (?:subscribe|unsubscribe|sign up|register|read more|learn more|"
    r"continue reading|download)\W*",
    r"subscribe (?:now|today|to (?:our|the) newsletter|for (?:updates|more))\W*|"
    r"sign up for (?:our|the) newsletter\W*",
    # footer link rows: one policy link, or two or more navigation links
    rf"(?:{_POLICY_ITEMS})\.?",
    rf"(?:{_NAV_ITEMS})(?:{_SEP}(?:{_NAV_ITEMS}))+",
]
BOILERPLATE_RE = re.compile("|".join(f"(?:{p})" for p in BOILERPLATE_PATTERNS))
# Every pattern above contains one of these (lowercase) substrings: only lines with one are
# matched.
BOILERPLATE_HINTS = tuple(hint.encode() for hint in (
    "cookie", "share", "rights reserved", "click here", "subscribe", "sign up", "privacy",
    "terms", "|", "•", "·"))


class CleanupParams(FilterParams):
    fix_unicode: bool = Field(
        True, description="repair mojibake, C1 controls and surrogates with ftfy (only text "
                          "that ftfy's detector flags is touched)")
    normalization: Literal["NFC", "NFKC"] | None = Field(
        "NFC", description="Unicode normalization form (null: none)")
    remove_zero_width: bool = Field(
        True, description="remove zero-width space, word joiner, BOM/U+FEFF and soft hyphen "
                          "(ZWJ/ZWNJ are kept)")
    remove_control_chars: bool = Field(
        True, description="remove control characters other than tab and line breaks, and "
                          "ANSI escape sequences")
    normalize_whitespace: bool = Field(
        True, description="CRLF/CR and Unicode line breaks to LF, strip trailing spaces, "
                          "collapse runs of blank lines, drop a leading BOM and leading/trailing "
                          "blank lines")
    max_blank_lines: int = Field(
        1, ge=0, description="with normalize_whitespace: longest run of blank lines kept")
    remove_gutenberg: bool = Field(
        True, description="remove the Project Gutenberg license header (up to and including "
                          "'*** START OF ...') and footer (from '*** END OF ...')")
    remove_boilerplate: bool = Field(
        True, description="remove short lines that are wholly cookie, share, copyright, "
                          "subscribe or policy/navigation boilerplate")
    boilerplate_max_chars: int = Field(
        200, ge=1, description="only lines at most this long may be removed as boilerplate")
    unwrap_lines: bool = Field(
        False, description="join hard-wrapped lines (books, old e-mail) into one line per "
                           "paragraph, so line-based rules (FineWeb's line punctuation) judge "
                           "sentences, not print lines; verse with short lines is kept")
    unwrap_min_chars: int = Field(
        55, ge=1, description="with unwrap_lines: a paragraph is unwrapped when every line "
                              "but its last is at least this long")


@register
class Cleanup(Step):
    """Repair Unicode, normalize whitespace, remove boilerplate; drop documents left empty."""

    name = "cleanup"
    Params = CleanupParams
    columns = {"cleanup_chars_removed": pa.int32(),
               "cleanup_boilerplate_lines": pa.int32(),
               "cleanup_unicode_fixed": pa.bool_(),
               "cleanup_gutenberg": pa.bool_()}

    def process(self, doc: Document) -> str | None:
        text, unicode_fixed, gutenberg, boilerplate = self.clean(doc.text)
        removed = len(doc.text) - len(text)
        doc.meta["cleanup_chars_removed"] = max(-2**31, min(removed, 2**31 - 1))
        doc.meta["cleanup_boilerplate_lines"] = boilerplate
        doc.meta["cleanup_unicode_fixed"] = unicode_fixed
        doc.meta["cleanup_gutenberg"] = gutenberg
        if text != doc.text and not self.annotate_only:
            doc.set_text(text)
        return None if text else "empty_after_cleanup"

    def clean(self, text: str) -> tuple[str, bool, bool, int]:
        """(cleaned text, ftfy changed it, Gutenberg text removed, boilerplate lines removed)."""
        p = self.params
        unicode_fixed = gutenberg = False
        ascii_only = text.isascii()
        if not ascii_only:
            if p.remove_zero_width and any(c in text for c in ZERO_WIDTH_CHARS):
                text = ZERO_WIDTH_RE.sub("", text)
            elif p.normalize_whitespace and text.startswith("\ufeff"):
                text = text[1:]
            if p.fix_unicode and MOJIBAKE_HINT_RE.search(text) and (
                    is_bad(text) or SURROGATE_RE.search(text)):
                fixed = ftfy.fix_text(text, FTFY_CONFIG)
                unicode_fixed, text = fixed != text, fixed
            if p.normalization and not unicodedata.is_normalized(p.normalization, text):
                text = unicodedata.normalize(p.normalization, text)
        if p.normalize_whitespace and any(
                c in text for c in (LINE_BREAKS_ASCII if ascii_only else LINE_BREAKS)):
            text = LINE_BREAK_RE.sub("\n", text)
        # Fast C-level tests decide whether the regex passes below are needed at all: for
        # ASCII, deleting the control bytes changes the length; otherwise, anything but
        # LF and tab that is not printable (controls, but also unusual spaces and format
        # characters) fails isprintable().
        if ascii_only:
            special = len(text.encode("ascii").translate(None, ASCII_CONTROL_BYTES)) != len(text)
        else:
            special = not text.replace("\n", "").replace("\t", "").isprintable()
        if p.remove_control_chars and special:
            if "\x1b" in text:
                text = ANSI_ESCAPE_RE.sub("", text)
            text = CONTROL_RE.sub("", text)
        if p.remove_gutenberg and "***" in text:
            text, gutenberg = strip_gutenberg(text)
        drop = self._boilerplate_lines(text) if p.remove_boilerplate else set()
        if p.normalize_whitespace:
            if (drop or special or " \n" in text or "\t\n" in text or text[:1].isspace()
                    or text[-1:].isspace() or self._blank_run in text):
                text = self._normalize_lines(text, drop)
        else:
            if drop:
                text = "\n".join(line for i, line in enumerate(text.split("\n"))
                                 if i not in drop)
            if not text.strip():
                text = ""
        if p.unwrap_lines and "\n" in text:
            text = unwrap(text, p.unwrap_min_chars)
        return text, unicode_fixed, gutenberg, len(drop)

    def _boilerplate_lines(self, text: str) -> set[int]:
        """Indexes of the lines (split at LF) that are wholly boilerplate.

        Only lines that contain a hint are looked at. The search runs on the UTF-8 bytes
        lowercased in ASCII, which is much faster than str.lower() on non-ASCII text; line
        numbers are the same because LF is one byte and never part of another character.
        """
        data = text.encode("utf-8", "surrogatepass").lower()
        limit = self.params.boilerplate_max_chars
        drop: set[int] = set()
        seen: set[int] = set()
        for hint in BOILERPLATE_HINTS:
            at = data.find(hint)
            while at != -1:
                start = data.rfind(b"\n", 0, at) + 1
                end = data.find(b"\n", at)
                end = len(data) if end == -1 else end
                if start not in seen and end - start <= 4 * limit:
                    seen.add(start)
                    line = data[start:end].decode("utf-8", "surrogatepass").strip().lower()
                    if len(line) <= limit and BOILERPLATE_RE.fullmatch(line):
                        drop.add(data.count(b"\n", 0, start))
                at = data.find(hint, end)
        return drop

    @property
    def _blank_run(self) -> str:
        """A run of blank lines one longer than allowed."""
        return "\n" * (self.params.max_blank_lines + 2)

    def _normalize_lines(self, text: str, drop: set[int]) -> str:
        """Strip trailing whitespace, leave out dropped lines, collapse blank-line runs, and
        remove leading and trailing blank lines."""
        out: list[str] = []
        blank, max_blank = 0, self.params.max_blank_lines
        for i, line in enumerate(text.split("\n")):
            if drop and i in drop:
                continue
            line = line.rstrip()
            if line:
                blank = 0
                out.append(line)
            elif out:
                blank += 1
                if blank <= max_blank:
                    out.append("")
        while out and not out[-1]:
            out.pop()
        return "\n".join(out)


def strip_gutenberg(text: str) -> tuple[str, bool]:
    """Remove a Project Gutenberg header (through the START marker line) and footer (from the
    END marker, with an 'End of the Project Gutenberg EBook' line just above it); keep the
    text between. Returns the text and whether anything was removed."""
    changed = False
    start = GUTENBERG_START_RE.search(text)
    if start and start.start() <= GUTENBERG_MAX_HEADER_CHARS:
        text, changed = text[start.end():], True
    end = GUTENBERG_END_RE.search(text)
    # A START marker after the END marker means several books in one text: leave it alone.
    if end and not GUTENBERG_START_RE.search(text, end.end()):
        body = text[:end.start()]
        closing = GUTENBERG_END_LINE_RE.search(body, max(0, len(body) - 1000))
        text, changed = body[:closing.start()] if closing else body, True
    return text, changed


def unwrap(text: str, min_chars: int) -> str:
    """Join the lines of each blank-line-separated paragraph whose lines (all but the last)
    are at least `min_chars` long: hard wrapping, not verse or lists."""
    paragraphs = text.split("\n\n")
    for i, paragraph in enumerate(paragraphs):
        lines = paragraph.split("\n")
        if len(lines) > 1 and all(len(line.strip()) >= min_chars for line in lines[:-1]):
            paragraphs[i] = " ".join(line.strip() for line in lines)
    return "\n\n".join(paragraphs)
