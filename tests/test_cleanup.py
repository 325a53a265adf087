"""The `cleanup` step: each switch on hand-made text, Gutenberg header/footer on a real book's
head and tail, boilerplate lines, empty documents, and annotate vs filter through the CLI."""

from __future__ import annotations

import contextlib
import gzip
import json

import ftfy.bad_codecs  # noqa: F401  (registers the sloppy-windows-* codecs used below)
import pyarrow.parquet as pq
import pytest
from ftfy.badness import is_bad

from curation.core.document import Document
from curation.steps.cleanup import MOJIBAKE_HINT_RE, Cleanup
from tests.support.curation import REPO, manifest, read_rows, write_jsonl, write_pipeline


def clean(text: str, **params) -> str:
    return Cleanup(params).clean(text)[0]


def run(text: str, **params) -> tuple[Document, str | None]:
    doc = Document("d", text)
    return doc, Cleanup(params).process(doc)


# ---------------------------------------------------------------------------------------
# Unicode repair, zero-width and control characters, normalization


def test_mojibake_is_repaired_without_touching_quotes_or_width():
    doc, rule = run("I donâ€™t like cafÃ© au lait")
    assert rule is None
    assert doc.text == "I don\u2019t like café au lait"  # the original curly apostrophe
    assert doc.meta["cleanup_unicode_fixed"] is True
    assert doc.meta["cleanup_chars_removed"] == 3  # 3 characters became 1, and 2 became 1
    wide = "\uff37\uff49\uff44\uff45\uff0c\uff46\uff55\uff4c\uff4c"  # "Wide,full" in fullwidth
    assert clean(f"\u201cHello\u201d, she said. {wide} \ufb01ne") == \
        f"\u201cHello\u201d, she said. {wide} \ufb01ne"


def test_c1_controls_become_windows_1252_characters():
    assert clean("don\x92t stop \x93now\x94") == "don\u2019t stop \u201cnow\u201d"
    # with the repair off, C1 controls are removed as control characters
    assert clean("don\x92t", fix_unicode=False) == "dont"


def test_unicode_repair_switch_off_keeps_mojibake():
    doc, _ = run("donâ€™t", fix_unicode=False)
    assert doc.text == "donâ€™t"
    assert doc.meta["cleanup_unicode_fixed"] is False


def test_lone_surrogates_are_replaced():
    assert clean("bad \ud83d half") == "bad \ufffd half"


def test_zero_width_characters_are_removed_but_joiners_kept():
    text = "zero\u200bwidth word\u2060joiner soft\u00adhyphen \ufeffbom"
    assert clean(text) == "zerowidth wordjoiner softhyphen bom"
    assert clean(text, remove_zero_width=False) == text
    emoji = "\U0001F469\u200d\U0001F4BB"
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
    assert clean(f"{emoji} {persian}") == f"{emoji} {persian}"


def test_control_characters_and_terminal_escapes_are_removed():
    text = "a\x00b\x07c \x1b[31mred\x1b[0m\tcol\x7f"
    assert clean(text) == "abc red\tcol"
    assert clean(text, remove_control_chars=False) == text


def test_nfc_normalization():
    decomposed = "Cafe\u0301 n\u0303"
    assert clean(decomposed) == "Café ñ"
    assert clean(decomposed, normalization=None) == decomposed
    assert clean("ﬁne ①", normalization="NFKC") == "fine 1"
    assert clean("ﬁne ①") == "ﬁne ①"  # NFC leaves compatibility characters alone


# ---------------------------------------------------------------------------------------
# Whitespace


def test_crlf_cr_and_unicode_line_breaks_become_lf():
    text = "one\r\ntwo\rthree\u2028four\x0cfive\u2029six"
    assert clean(text) == "one\ntwo\nthree\nfour\nfive\nsix"
    # NEL (U+0085) is a C1 control: ftfy reads it as the Windows-1252 byte it almost always
    # is (an ellipsis); without the repair it is a line break
    assert clean("five\x85six") == "five\u2026six"
    assert clean("five\x85six", fix_unicode=False) == "five\nsix"


def test_trailing_spaces_blank_runs_and_edges():
    text = "\n\n  indented  \t\nnext\u3000\n\n\n\n\npara\xa0 \n\n"
    assert clean(text) == "  indented\nnext\n\npara"
    assert clean(text, max_blank_lines=0) == "  indented\nnext\npara"
    assert clean(text, max_blank_lines=2) == "  indented\nnext\n\n\npara"
    assert clean("a \r\n\r\n\r\n\r\nb ", normalize_whitespace=False) == "a \r\n\r\n\r\n\r\nb "


def test_bom_is_removed():
    assert clean("\ufeffHello\r\nworld") == "Hello\nworld"
    assert clean("\ufeffHello", remove_zero_width=False) == "Hello"  # whitespace switch


def test_clean_ascii_text_is_returned_as_is():
    text = "A plain paragraph.\n\nAnother one, with no work to do."
    doc, rule = run(text)
    assert rule is None and doc.text is text
    assert doc.meta == {"cleanup_chars_removed": 0, "cleanup_boilerplate_lines": 0,
                        "cleanup_unicode_fixed": False, "cleanup_gutenberg": False}


# ---------------------------------------------------------------------------------------
# Project Gutenberg header and footer (head and tail of alice_in_wonderland.txt, shortened;
# BOM and CRLF as in the file)

GUTENBERG_HEAD = (
    "\ufeffThe Project Gutenberg eBook of Alice's Adventures in Wonderland\r\n    \r\n"
    "This ebook is for the use of anyone anywhere in the United States and\r\n"
    "most other parts of the world at no cost and with almost no restrictions\r\n"
    "whatsoever. You may copy it, give it away or re-use it under the terms\r\n"
    "of the Project Gutenberg License included with this ebook or online\r\n"
    "at www.gutenberg.org. If you are not located in the United States,\r\n"
    "you will have to check the laws of the country where you are located\r\n"
    "before using this eBook.\r\n\r\nTitle: Alice's Adventures in Wonderland\r\n\r\n"
    "Author: Lewis Carroll\r\n\r\nRelease date: June 27, 2008 [eBook #11]\r\n"
    "                Most recently updated: November 10, 2024\r\n\r\nLanguage: English\r\n"
    "\r\nCredits: Arthur DiBianca and David Widger\r\n\r\n\r\n"
    "*** START OF THE PROJECT GUTENBERG EBOOK ALICE'S ADVENTURES IN WONDERLAND ***\r\n"
    "[Illustration]\r\n\r\n\r\n\r\n\r\nAlice\u2019s Adventures in Wonderland\r\n\r\n"
    "by Lewis Carroll\r\n")
GUTENBERG_TAIL = (
    "Their simple joys, remembering her own child-life, and the happy summer\r\ndays.\r\n"
    "\r\nTHE END\r\n\r\n\r\n\r\n"
    "*** END OF THE PROJECT GUTENBERG EBOOK ALICE'S ADVENTURES IN WONDERLAND ***\r\n\r\n\r\n"
    "    \r\n\r\nUpdated editions will replace the previous one\u2014the old editions will\r\n"
    "be renamed.\r\n\r\nCreating the works from print editions not protected by U.S. "
    "copyright\r\nlaw means that no one owns a United States copyright in these works,\r\n"
    "subscribe to our email newsletter to hear about new eBooks.\r\n\r\n\r\n")


def test_gutenberg_header_and_footer_are_removed_and_the_text_between_kept():
    doc, rule = run(GUTENBERG_HEAD + "\r\n" + GUTENBERG_TAIL)
    assert rule is None
    assert doc.text == (
        "[Illustration]\n\nAlice\u2019s Adventures in Wonderland\n\nby Lewis Carroll\n\n"
        "Their simple joys, remembering her own child-life, and the happy summer\ndays.\n\n"
        "THE END")
    assert doc.meta["cleanup_gutenberg"] is True
    kept = clean(GUTENBERG_HEAD + GUTENBERG_TAIL, remove_gutenberg=False)
    assert kept.startswith("The Project Gutenberg eBook of Alice")
    assert kept.endswith("subscribe to our email newsletter to hear about new eBooks.")


def test_gutenberg_header_only_and_footer_only_documents():
    assert clean(GUTENBERG_HEAD).startswith("[Illustration]")
    assert clean(GUTENBERG_TAIL).endswith("THE END")


def test_older_gutenberg_markers_and_closing_line():
    text = ("The Project Gutenberg EBook of Old Book\n\n"
            "***START OF THIS PROJECT GUTENBERG EBOOK OLD BOOK***\n\nBody text.\n\n"
            "End of the Project Gutenberg EBook of Old Book, by Someone\n\n"
            "*** END OF THIS PROJECT GUTENBERG EBOOK OLD BOOK ***\n\nLicense text.")
    assert clean(text) == "Body text."


def test_gutenberg_marker_far_into_a_text_is_not_a_header():
    prose = "A long passage of someone else's text.\n" * 1000  # 39,000 characters
    text = prose + "*** START OF THE PROJECT GUTENBERG EBOOK X ***\nBody."
    assert clean(text).startswith("A long passage")


# ---------------------------------------------------------------------------------------
# Boilerplate lines

SAMPLE_BOILERPLATE = ["Accept cookies", "Share this: Facebook Twitter", "All rights reserved",
                      "Click here to subscribe", "Privacy Policy | Terms of Use",
                      "We use cookies to improve your experience. Accept cookies",
                      "© 2019 Example Books. All rights reserved."]
MORE_BOILERPLATE = ["ALL RIGHTS RESERVED.", "Copyright 2021 Foo Media, Inc. All Rights Reserved",
                    "Share on Facebook", "Share this article", "Sign up for our newsletter!",
                    "Home | About | Contact", "Terms and Conditions",
                    "This website uses cookies to ensure you get the best experience.",
                    "Click here to read more »", "   Subscribe now   "]
PROSE = ["We use cookies and cream ice cream in this recipe.",
         "Share this bread with your brother.",
         "He said all rights reserved to the crown were void, and left.",
         "The privacy policy of the firm was the talk of the town that winter.",
         "Click here, she said, pointing at the map.",
         "Terms of endearment were rare in that house.",
         "Subscribe to the magazine? Never, said Mr. Brown."]


@pytest.mark.parametrize("line", SAMPLE_BOILERPLATE + MORE_BOILERPLATE)
def test_boilerplate_lines_are_removed(line):
    doc, rule = run(f"First paragraph.\n\n{line}\n\nSecond paragraph.")
    assert rule is None
    assert doc.text == "First paragraph.\n\nSecond paragraph."
    assert doc.meta["cleanup_boilerplate_lines"] == 1


@pytest.mark.parametrize("line", PROSE)
def test_prose_that_mentions_the_same_words_is_kept(line):
    text = f"First paragraph.\n\n{line}\n\nSecond paragraph."
    assert clean(text) == text


def test_only_short_whole_lines_are_boilerplate():
    long_line = "All rights reserved" + " and more words" * 20  # not the whole line
    inline = "The notice said: Privacy Policy | Terms of Use, in small print, at the bottom."
    text = f"{long_line}\n{inline}\nAccept cookies"
    assert clean(text) == f"{long_line}\n{inline}"
    cookie = "We use cookies to improve your experience on this website, " * 4
    assert len(cookie) > 200
    assert clean(cookie.strip()) == cookie.strip()
    assert clean(cookie.strip(), boilerplate_max_chars=300) == ""


def test_boilerplate_switch_off_and_count():
    text = "\n".join(SAMPLE_BOILERPLATE) + "\nThe story begins."
    doc, _ = run(text)
    assert doc.text == "The story begins."
    assert doc.meta["cleanup_boilerplate_lines"] == len(SAMPLE_BOILERPLATE)
    assert clean(text, remove_boilerplate=False) == text


# ---------------------------------------------------------------------------------------
# Empty documents, annotate mode, the CLI


@pytest.mark.parametrize("text", ["Accept cookies", "\u200b \r\n\t\ufeff", "\x00\x01",
                                  GUTENBERG_HEAD.split("[Illustration]")[0]])
def test_document_left_empty_is_rejected(text):
    _, rule = run(text)
    assert rule == "empty_after_cleanup"


def test_annotate_mode_records_but_keeps_the_text():
    text = "Accept cookies\r\nI donâ€™t know.\r\n"
    doc, rule = run(text, mode="annotate")
    assert doc.text == text
    assert rule is None or rule == "empty_after_cleanup"
    assert doc.meta["cleanup_boilerplate_lines"] == 1
    assert doc.meta["cleanup_unicode_fixed"] is True
    assert doc.meta["cleanup_chars_removed"] == len(text) - len("I don\u2019t know.")


def test_cleanup_through_the_cli(tmp_path, curate):
    records = [{"text": "Accept cookies\r\nI donâ€™t know.\r\n"},
               {"text": "Accept cookies"},
               {"text": "Plain text."}]
    write_jsonl(tmp_path / "in.jsonl", records)
    for mode in ("filter", "annotate"):
        out = tmp_path / mode
        cfg = write_pipeline(tmp_path / f"{mode}.yaml", str(tmp_path / "in.jsonl"), out,
                             steps=[{"cleanup": {"mode": mode}}])
        assert curate(cfg) == 0
        kept = read_rows(next(out.glob("part-*.parquet")))
        rejected = read_rows(out / "rejected") if (out / "rejected").exists() else []
        step = next(s for s in manifest(out)["steps"] if s["name"] == "cleanup")
        if mode == "filter":
            assert [r["text"] for r in kept] == ["I don\u2019t know.", "Plain text."]
            assert [r["reason"] for r in rejected] == ["cleanup:empty_after_cleanup"]
        else:
            assert [r["text"] for r in kept] == [r["text"] for r in records]
            assert rejected == []
            assert step["flagged"] == {"empty_after_cleanup": 1}
        assert kept[0]["cleanup_boilerplate_lines"] == 1
    schema = pq.read_schema(next((tmp_path / "filter").glob("part-*.parquet")))
    assert str(schema.field("cleanup_chars_removed").type) == "int32"
    assert str(schema.field("cleanup_boilerplate_lines").type) == "int32"
    assert str(schema.field("cleanup_unicode_fixed").type) == "bool"


# ---------------------------------------------------------------------------------------
# The fast path must not skip anything ftfy would repair

SENTENCES = [
    "Le cœur a ses raisons que la raison ne connaît point.", "¿Dónde está la biblioteca?",
    "Größere Übungen für Ärzte.", "Příliš žluťoučký kůň úpěl ďábelské ódy.",
    "Zażółć gęślą jaźń.", "Съешь же ещё этих мягких французских булок.",
    "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία.", "Pójdźże, kiń tę chmurność w głąb flaszy!",
    "Árvíztűrő tükörfúrógép.", "Şişli'de gündüz çiçekçi.", "我能吞下玻璃而不伤身体。",
    "私はガラスを食べられます。", "Ég get etið gler án þess að meiða mig.",
    "Price: 5 € — “quoted” \u2018text\u2019 • bullet … ellipsis ™ ©", "\u00d7²³ √± ≈° ½¼",
    "naïve façade, déjà vu, São Paulo, Åland, Øresund, Ørsted",
]
ENCODINGS = ["sloppy-windows-1252", "latin-1", "sloppy-windows-1251", "sloppy-windows-1250",
             "sloppy-windows-1253", "sloppy-windows-1254", "iso-8859-2", "macroman", "cp437"]


def test_mojibake_hint_flags_everything_is_bad_flags():
    texts = list(SENTENCES)
    for sentence in SENTENCES:
        for encoding in ENCODINGS:
            with contextlib.suppress(UnicodeDecodeError):
                texts.append(sentence.encode("utf-8").decode(encoding))
            texts.append(sentence + " " + sentence.encode("utf-8").decode(encoding, "replace"))
    flagged = [t for t in texts if is_bad(t)]
    assert len(flagged) > 100
    assert all(MOJIBAKE_HINT_RE.search(t) for t in flagged)
    # and it is selective: clean text in many scripts is mostly not flagged
    assert sum(bool(MOJIBAKE_HINT_RE.search(s)) for s in SENTENCES) <= 4


def test_sample_corpus_cleanup_is_idempotent_and_finds_the_injected_lines():
    step = Cleanup({})
    docs = []
    for path in sorted((REPO / "data" / "sample").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                with contextlib.suppress(json.JSONDecodeError, KeyError, TypeError):
                    docs.append(json.loads(line)["text"])
    results = [step.clean(d) for d in docs]
    assert all(step.clean(r[0])[0] == r[0] for r in results)
    # 303 documents got 1-3 of the 7 boilerplate lines (copies inherit them), and 12 junk
    # pages are "Home | About | Contact" or "Sign in | Register", which leaves them empty
    # (as are the 3 records that were empty or whitespace to begin with)
    assert sum(r[3] for r in results) == 637
    assert sum(r[0] == "" for r in results) == 12 + 3
    assert sum(r[2] for r in results) == 39   # 18 book heads + 18 tails, 3 of them copied
    assert all("\r" not in r[0] and "\ufeff" not in r[0] for r in results)


def test_unwrap_lines_joins_hard_wrapped_paragraphs_but_not_verse():
    prose = ("It was the best of times, it was the worst of times, it was\n"
             "the age of wisdom, it was the age of foolishness, it was the\n"
             "epoch of belief.")
    verse = "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind"
    text = f"{prose}\n\n{verse}"
    step = Cleanup({"unwrap_lines": True})
    out = step.clean(text)[0]
    assert out.split("\n\n")[0] == " ".join(prose.split("\n"))
    assert out.split("\n\n")[1] == verse
    assert Cleanup({}).clean(text)[0] == text  # off by default
