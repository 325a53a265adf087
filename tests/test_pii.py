"""The `pii` step with real presidio (no mocks), offline: every entity type, every action,
counts, annotate mode, hashing, a 1 MB document, NER through a spaCy pipeline directory.

presidio and spaCy take seconds to import, so engines are cached per configuration and
process (`curation.steps.pii._analyzer`); every test here shares them.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
import time

import pyarrow as pa
import pytest

from curation.core.document import Document
from curation.core.errors import ConfigError
from curation.pii import offline
from curation.pii.actions import hash_token, normalize
from curation.pii.engine import PiiAnalyzer, Span, resolve
from curation.pii.patterns import plausible_phone, valid_card
from curation.steps.pii import Pii
from tests.support.curation import read_rows, write_jsonl, write_pipeline

ALL_STRUCTURED = ["EMAIL", "PHONE", "CREDIT_CARD", "IP", "IBAN", "US_SSN", "URL"]

# (type, text, the PII inside it): synthetic values only.
SAMPLES = [
    ("EMAIL", "Write to jane.roe@example.org about it.", "jane.roe@example.org"),
    ("PHONE", "Call me on +41 (0)96 471 07 95 tomorrow.", "+41 (0)96 471 07 95"),
    ("PHONE", "Fax: 345-899-3560x4587\n", "345-899-3560x4587"),
    ("PHONE", "They're not answering at 78 651 450", "78 651 450"),
    ("PHONE", "Office (579)888-3058, ask for Ann.", "(579)888-3058"),
    ("CREDIT_CARD", "Card 4111 1111 1111 1111 was charged.", "4111 1111 1111 1111"),
    ("CREDIT_CARD", "Paid with 4131034282458809939 today.", "4131034282458809939"),
    ("IP", "The server at 192.168.10.77 is down.", "192.168.10.77"),
    ("IP", "Ping 2001:db8:85a3::8a2e:370:7334 now.", "2001:db8:85a3::8a2e:370:7334"),
    ("IBAN", "Pay to GB82 WEST 1234 5698 7654 32 please.", "GB82 WEST 1234 5698 7654 32"),
    ("US_SSN", "My SSN is 536-22-1234.", "536-22-1234"),
    ("URL", "See https://www.example.com/a/b?c=1 for details.", "https://www.example.com/a/b?c=1"),
]
CLEAN = ("It was the best of times, it was the worst of times; in the year 1775 there were "
         "12 apostles, 3.14159 pies and a meeting on 2019-06-12 at 14:30. Chapter 1 1850 1860.")


@pytest.fixture(scope="module", autouse=True)
def no_network():
    """Any attempt to open an internet connection fails the test that makes it."""
    attempts = []

    def refuse(self, address, *args, **kwargs):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            attempts.append(address)
            raise OSError("network access in a PII test")
        return real_connect(self, address, *args, **kwargs)

    real_connect = socket.socket.connect
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", refuse)
        mp.setattr(socket.socket, "connect_ex", refuse)
        yield attempts
    assert not attempts, "the pii step tried to reach the network"


def step(**params) -> Pii:
    return Pii({"entities": ALL_STRUCTURED, **params})


def run(s: Pii, text: str) -> tuple[str | None, Document]:
    doc = Document("d", text)
    return s.process(doc), doc


@pytest.mark.parametrize(("kind", "text", "value"), SAMPLES,
                         ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(SAMPLES)])
def test_each_type_is_found_and_replaced(kind, text, value):
    rule, doc = run(step(), text)
    assert rule is None
    assert doc.text == text.replace(value, f"<{kind}>")
    assert doc.meta["pii_count"] == 1
    assert doc.meta[f"pii_{kind.lower()}"] == 1
    assert sum(v for k, v in doc.meta.items() if k != "pii_count") == 1


@pytest.mark.parametrize(("kind", "text", "value"), SAMPLES[::3])
def test_mask_keeps_length(kind, text, value):
    _, doc = run(step(action="mask"), text)
    assert doc.text == text.replace(value, "*" * len(value))
    _, doc = run(step(action="mask", mask_char="#"), text)
    assert doc.text == text.replace(value, "#" * len(value))


@pytest.mark.parametrize(("kind", "text", "value"), SAMPLES[::2])
def test_hash_is_keyed_and_deterministic(kind, text, value):
    _, a = run(step(action="hash", hash_key="k1"), text)
    _, b = run(step(action="hash", hash_key="k1"), text)
    _, c = run(step(action="hash", hash_key="k2"), text)
    token = a.text[text.index(value):].split(">")[0] + ">"
    assert re.fullmatch(rf"<{kind}:[0-9a-f]{{16}}>", token)
    assert a.text == b.text == text.replace(value, token)
    assert c.text != a.text
    assert token == hash_token(kind, value, b"k1", 16)
    assert value not in a.text


def test_hash_key_from_environment_and_normalized_values(monkeypatch):
    monkeypatch.setenv("MY_PII_KEY", "secret")
    s = step(action="hash", hash_key_env="MY_PII_KEY", hash_length=8)
    _, doc = run(s, "Call 555-010-0199 or 555 010 0199, or mail Ann@Example.org / ann@example.org.")
    tokens = re.findall(r"<(\w+):([0-9a-f]+)>", doc.text)
    assert len(tokens) == 4 and all(len(h) == 8 for _, h in tokens)
    assert tokens[0] == tokens[1] and tokens[2] == tokens[3] and tokens[0] != tokens[2]
    assert normalize("IBAN", "gb82 west 1234") == "GB82WEST1234"
    monkeypatch.delenv("MY_PII_KEY")
    with pytest.raises(ConfigError, match="MY_PII_KEY"):
        step(action="hash", hash_key_env="MY_PII_KEY")


def test_drop_rejects_documents_with_pii_only():
    s = step(action="drop")
    rule, doc = run(s, SAMPLES[0][1])
    assert rule == "contains_pii" and doc.text == SAMPLES[0][1] and doc.meta["pii_email"] == 1
    rule, doc = run(s, CLEAN)
    assert rule is None and doc.meta["pii_count"] == 0


def test_clean_text_passes_unchanged():
    text = CLEAN * 40
    rule, doc = run(step(), text)
    assert rule is None and doc.text is text
    assert doc.meta == {"pii_count": 0, **{f"pii_{k.lower()}": 0 for k in ALL_STRUCTURED}}


def test_counts_per_type_and_columns():
    text = ("a@example.org and b@example.org; call 555-010-0199; card 4111-1111-1111-1111; "
            "host 10.1.2.3; IBAN GB82WEST12345698765432; SSN 536-22-1234; http://example.net")
    _, doc = run(step(), text)
    assert {k: doc.meta[k] for k in doc.meta} == {
        "pii_count": 8, "pii_email": 2, "pii_phone": 1, "pii_credit_card": 1, "pii_ip": 1,
        "pii_iban": 1, "pii_us_ssn": 1, "pii_url": 1}
    assert doc.text == ("<EMAIL> and <EMAIL>; call <PHONE>; card <CREDIT_CARD>; host <IP>; "
                        "IBAN <IBAN>; SSN <US_SSN>; <URL>")
    # Only the configured types are looked for, and the schema has exactly their columns.
    only = Pii({"entities": ["EMAIL", "IBAN"]})
    assert only.columns == {"pii_count": pa.int32(), "pii_email": pa.int32(),
                            "pii_iban": pa.int32()}
    _, doc = run(only, text)
    assert doc.meta == {"pii_count": 3, "pii_email": 2, "pii_iban": 1}
    assert "4111-1111-1111-1111" in doc.text and "<IBAN>" in doc.text
    assert Pii({}).params.entities == ["EMAIL", "PHONE", "CREDIT_CARD", "IP", "IBAN", "US_SSN"]


def test_not_pii():
    """Dates, years, decimals, times, ranges, ISSNs and addresses are not phone numbers."""
    for text in ["2019-06-12", "12.06.2019", "1914-1918", "1234-5678", "3.14159 2.71828",
                 "10.00-12.00", "192.168.1.1", "000 000 0000", "35.123456"]:
        assert not plausible_phone(text), text
    for text in ["555-010-0199", "+41 (0)96 471 07 95", "01.84.17.61.18", "9472 7916",
                 "0961-7596216", "259.735.7502x459"]:
        assert plausible_phone(text), text
    assert valid_card("4111111111111111") and valid_card("213176828496175")
    assert not valid_card("4111111111111112") and not valid_card("9780306406157")
    text = ("Apt. 675 62314 Mellemvej 32, see ISBN 978-83-7181-510-2, ISSN 1234-5678, "
            "on 2000-04-16 11:34:35 at 35.123456 -97.123456; 3.14159 26535 89793; "
            "pages 1 2 3 4 5 6 7 8 9 10")
    _, doc = run(step(), text)
    assert doc.meta["pii_count"] == 0, doc.text
    _, doc = run(Pii({"entities": ["US_SSN"]}), "ITIN 900-12-3456, sample 078-05-1120")
    assert doc.meta["pii_count"] == 0


def test_annotate_records_counts_and_keeps_text(tmp_path, curate):
    records = [{"id": "a", "text": "Mail jane.roe@example.org or call 555-010-0199."},
               {"id": "b", "text": CLEAN}]
    src = write_jsonl(tmp_path / "in.jsonl", records)
    for action, out in (("replace", "o1"), ("drop", "o2")):
        pipe = write_pipeline(tmp_path / f"{out}.yaml", str(src), tmp_path / out,
                              steps=[{"pii": {"mode": "annotate", "action": action}}],
                              input={"id_field": "id"})
        assert curate(pipe) == 0
        rows = {r["id"]: r for r in read_rows(tmp_path / out)}
        assert [r["text"] for r in rows.values()] == [r["text"] for r in records]
        assert rows["a"]["pii_count"] == 2 and rows["a"]["pii_email"] == 1
        assert rows["b"]["pii_count"] == 0


def test_pipeline_writes_int32_columns_and_rejects(tmp_path, curate):
    records = [{"id": "a", "text": "Mail jane.roe@example.org now."}, {"id": "b", "text": CLEAN}]
    src = write_jsonl(tmp_path / "in.jsonl", records)
    pipe = write_pipeline(tmp_path / "p.yaml", str(src), tmp_path / "out",
                          steps=[{"pii": {"entities": ["EMAIL", "PHONE"], "action": "drop"}}],
                          input={"id_field": "id"})
    assert curate(pipe) == 0
    import pyarrow.parquet as pq

    kept = [f for f in (tmp_path / "out").rglob("*.parquet") if "rejected" not in f.parts]
    schema = pq.read_schema(kept[0])
    assert schema.field("pii_count").type == pa.int32()
    assert schema.field("pii_email").type == pa.int32() and "pii_ip" not in schema.names
    rejected = read_rows(tmp_path / "out" / "rejected")
    assert [(r["id"], r["reason"]) for r in rejected] == [("a", "pii:contains_pii")]


def test_one_megabyte_document():
    filler = ("The quick brown fox jumps over the lazy dog in the year 1851, page 12. " * 14)
    parts, expected = [], 0
    while sum(map(len, parts)) < 1_000_000:
        parts.append(filler)
        parts.append(f"Contact {len(parts)}@example.org or +44 20 7946 {len(parts) % 10000:04d}.\n")
        expected += 2
    text = "".join(parts)
    start = time.perf_counter()
    _, doc = run(step(), text)
    assert time.perf_counter() - start < 20
    assert doc.meta["pii_email"] == doc.meta["pii_phone"] == expected // 2
    assert "@example.org" not in doc.text and doc.text.count("<EMAIL>") == expected // 2


def test_prescreening_changes_nothing():
    """Windows around anchors give exactly the spans a whole-text run gives."""
    pieces = [v for _, _, v in SAMPLES]
    words = [w for w in CLEAN.split() if not any(c.isdigit() for c in w)]
    text = ""
    for i, value in enumerate(pieces * 3):
        text += " ".join(words[: (i * 7) % len(words)]) + " " + value + " "
        text += "x" * (i * 13 % 90) + "\n"
    fast = PiiAnalyzer(ALL_STRUCTURED)
    full = PiiAnalyzer(ALL_STRUCTURED, prescreen=False)
    spans = fast.analyze(text)
    assert spans == full.analyze(text)
    assert len(spans) == len(pieces) * 3


def test_libphonenumber_regions_add_presidio_phone_recognizer():
    _, doc = run(step(phone_regions=["US", "GB"]), "Ring 020 7946 0958 or (650) 253-0000.")
    assert doc.meta["pii_phone"] == 2


def test_resolve_merges_overlaps_to_the_best_type():
    spans = [Span(0, 10, "PHONE", 0.4), Span(5, 20, "CREDIT_CARD", 1.0), Span(30, 35, "URL", 0.5)]
    assert resolve(spans) == [Span(0, 20, "CREDIT_CARD", 1.0), Span(30, 35, "URL", 0.5)]


def test_offline_setup(monkeypatch, tmp_path):
    """No suffix-list fetch: the variable is set (or cleared of URLs), the default extractor
    is fixed even when tldextract was imported first, and a cold cache resolves offline."""
    monkeypatch.delenv("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS")
    offline.prepare()
    assert os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] == ""
    monkeypatch.setenv("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "https://publicsuffix.org/list/x")
    import tldextract.tldextract as module

    monkeypatch.setattr(module.TLD_EXTRACTOR, "suffix_list_urls", ("https://example.com/psl",))
    offline.prepare()
    assert os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] == ""
    assert offline.suffix_list_urls() == ()
    assert os.environ["PRESIDIO_DEVICE"] == "cpu"
    cold = module.TLDExtract(cache_dir=str(tmp_path))  # empty cache: would fetch if allowed
    assert cold.suffix_list_urls == ()
    assert cold("mail.example.co.uk").suffix == "co.uk"


def test_presidio_import_is_quiet_and_leaves_torch_importable():
    """In a fresh process: nothing on stderr (transformers' "PyTorch was not found" came
    from hiding torch), neither module loaded by presidio, both importable afterwards."""
    code = ("import sys; from curation.pii import offline; "
            "offline.import_presidio(keep_torch=False); "
            "print(sorted(m for m in ('torch', 'transformers', 'thinc') if m in sys.modules)); "
            "import torch, transformers; print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.stdout.split() == ["['thinc']", "ok"]
    assert done.stderr == ""


def test_pii_never_reaches_logs_or_output(caplog, capsys):
    caplog.set_level(logging.DEBUG)
    text = " ".join(v for _, _, v in SAMPLES) + " gb00 xxxx 1234 5678 9012 34"
    run(step(action="drop"), text)
    run(step(), text)
    out, err = capsys.readouterr()
    logged = caplog.text + out + err
    for _, _, value in SAMPLES:
        assert value not in logged


def test_configuration_errors(tmp_path):
    with pytest.raises(ConfigError, match="needs a spaCy NER model"):
        Pii({"entities": ["PERSON"]})
    with pytest.raises(ConfigError, match="not installed"):
        Pii({"entities": ["PERSON"], "spacy_model": "en_core_web_nonexistent"})
    with pytest.raises(ConfigError, match="secret key"):
        Pii({"action": "hash", "hash_key_env": "GRISTMILL_TEST_UNSET_KEY"})
    from curation.core.config import normalize_step

    with pytest.raises(ConfigError, match="entities"):
        normalize_step({"pii": {"entities": ["EMAIL", "SSN"]}}, 0, "p.yaml")
    with pytest.raises(ConfigError, match="entities"):
        normalize_step({"pii": {"entities": []}}, 0, "p.yaml")
    with pytest.raises(ConfigError, match="unknown region"):
        normalize_step({"pii": {"phone_regions": ["US", "XX"]}}, 0, "p.yaml")


def test_person_and_location_with_a_spacy_pipeline(tmp_path):
    """NER through presidio's spaCy engine, from a pipeline directory (no download)."""
    import spacy

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "PERSON", "pattern": "Ada Lovelace"},
                        {"label": "GPE", "pattern": "London"}])
    nlp.to_disk(tmp_path / "ner")
    s = Pii({"entities": ["EMAIL", "PERSON", "LOCATION"], "spacy_model": str(tmp_path / "ner")})
    _, doc = run(s, "Ada Lovelace of London wrote to ada@example.org.")
    assert doc.text == "<PERSON> of <LOCATION> wrote to <EMAIL>."
    assert doc.meta == {"pii_count": 3, "pii_email": 1, "pii_person": 1, "pii_location": 1}
