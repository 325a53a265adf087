"""The `quality` step and `gristmill quality train/eval`, with real training (no mocks):
a small corpus is learned to a stated accuracy, models round-trip exactly through files that
hold no pickle, damaged files are refused, the step scores and thresholds, and the bundled
default model loads offline and separates prose from web junk.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import socket
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import gristmill.launcher as launcher
from curation.core.document import Document
from curation.quality.features import FeatureConfig, Featurizer
from curation.quality.model import ModelFileError, QualityModel, heldout_mask, train
from curation.quality.synthetic import JunkGenerator
from curation.steps.quality import DEFAULT_MODEL, Quality
from tests.support.curation import REPO, manifest, read_rows, write_jsonl, write_pipeline

PROSE = ("It was late in the evening when the travellers reached the inn, and the landlord, "
         "who had been waiting for them since noon, brought bread and cheese to the table. "
         "They spoke of the long road behind them and of the river they would cross in the "
         "morning, while the fire burned low and the rain beat against the windows.")
HARBOUR = ("The harbour was quiet at dawn. Fishermen mended their nets while gulls circled "
           "above the boats, and a boy ran along the pier with a basket of bread for his father.")
MENU = ("Home | About Us | Products | Contact\nLogin | Register | Cart (0)\n"
        "Copyright © 2019 Acme. All rights reserved.\nPrivacy Policy | Terms of Use\n"
        "Buy cheap replica watches free shipping best price")


@pytest.fixture
def gristmill(monkeypatch):
    """`gristmill ...` in-process through the real launcher."""
    return lambda *args: launcher.main([str(a) for a in args])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, Path]:
    """Positives: one file of the bundled sample (Gutenberg and Shakespeare, 515 records);
    negatives: 500 synthetic junk documents (their word salad drawn from HARBOUR)."""
    folder = tmp_path_factory.mktemp("corpus")
    words = [(w, 1.0) for w in HARBOUR.replace(",", "").replace(".", "").split()]
    junk = JunkGenerator(words, [HARBOUR], seed=3).documents(500)
    negative = write_jsonl(folder / "junk.jsonl", [{"text": t} for t in junk])
    return REPO / "data/sample/part-0.jsonl.gz", negative


@pytest.fixture(scope="module")
def trained(corpus, tmp_path_factory):
    """A model trained through the real command (exit code, printed report, files)."""
    out = tmp_path_factory.mktemp("model") / "model.json"
    positive, negative = corpus
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = launcher.main(["quality", "train", "--positive", str(positive), "--negative",
                              str(negative), "--out", str(out), "--buckets", "2**16"])
    assert code == 0
    return out, buffer.getvalue()


def test_training_reaches_the_stated_accuracy(trained):
    out, printed = trained
    info = json.loads(out.read_text())
    report = info["trained"]
    assert report["positives"] == 515 and report["negatives"] == 500
    assert report["heldout"]["documents"] >= 60
    assert report["heldout"]["accuracy"] >= 0.97
    assert report["heldout"]["roc_auc"] >= 0.99
    assert f"accuracy {report['heldout']['accuracy']:.4f}" in printed
    assert "held-out:" in printed and f"wrote {out}" in printed
    assert info["features"]["buckets"] == 2**16 and info["features"]["ngrams"] == 2


def test_saved_model_round_trips_exactly_and_holds_no_pickle(trained, tmp_path):
    out, _ = trained
    model = QualityModel.load(out)
    texts = [PROSE, MENU, "", "x"]
    again = tmp_path / "copy.json"
    model.save(again)
    assert np.array_equal(QualityModel.load(again).score_many(texts), model.score_many(texts))
    assert again.with_suffix(".npz").read_bytes() == out.with_suffix(".npz").read_bytes()
    with zipfile.ZipFile(out.with_suffix(".npz")) as archive:
        assert sorted(archive.namelist()) == ["bias.npy", "weights.npy"]
        for name in archive.namelist():
            header = archive.read(name)[:128]
            assert header.startswith(b"\x93NUMPY") and b"'O'" not in header
            assert b"\x80\x04" not in archive.read(name)[:16]  # no pickle protocol marker
    with np.load(out.with_suffix(".npz"), allow_pickle=False) as arrays:
        assert arrays["weights"].dtype == np.float32
    json.loads(out.read_text())  # plain JSON


def test_damaged_or_foreign_files_are_refused(trained, tmp_path):
    out, _ = trained
    meta = json.loads(out.read_text())
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(meta))  # its .npz is missing
    with pytest.raises(ModelFileError, match="cannot read its weights"):
        QualityModel.load(bad)
    (tmp_path / "bad.npz").write_bytes(out.with_suffix(".npz").read_bytes()[:-10])
    bad.write_text(json.dumps({**meta, "weights_file": "bad.npz"}))
    with pytest.raises(ModelFileError, match="checksum"):
        QualityModel.load(bad)
    # a pickled object array with a matching checksum is still refused
    data = _object_npz()
    (tmp_path / "bad.npz").write_bytes(data)
    bad.write_text(json.dumps({**meta, "weights_file": "bad.npz",
                               "weights_sha256": hashlib.sha256(data).hexdigest()}))
    with pytest.raises(ModelFileError, match="damaged"):
        QualityModel.load(bad)
    (tmp_path / "other.json").write_text('{"hello": 1}')
    with pytest.raises(ModelFileError, match="not a quality model"):
        QualityModel.load(tmp_path / "other.json")


def _object_npz() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, weights=np.array([object()], dtype=object), bias=np.zeros(1))
    return buffer.getvalue()


def test_features_are_stable():
    """Saved models depend on these exact buckets: a change here breaks every model file."""
    index, values = Featurizer(FeatureConfig(ngrams=2, buckets=1024)).vector(
        "Hello, world of Tests!")
    assert index.tolist() == [168, 200, 210, 220, 363, 402, 598, 660, 784, 968, 997]
    assert np.allclose(values, 1 / np.sqrt(11))
    index, _ = Featurizer(FeatureConfig(ngrams=2, buckets=1024, shape_ngrams=2)).vector(
        "Hello, world of Tests!")
    assert index.tolist() == [48, 54, 163, 168, 200, 210, 220, 363, 402, 560, 598, 660, 784,
                              797, 808, 829, 925, 968, 997, 1017]
    assert heldout_mask(["a", "b", "c", "d"], 0.5).tolist() == \
        heldout_mask(["a", "b", "c", "d"], 0.5).tolist()


def test_train_function_learns_a_toy_corpus():
    good = [(str(i), f"the {w} sat quietly by the window and read a long letter from home.")
            for i, w in enumerate(["cat", "man", "girl", "old woman", "doctor"] * 20)]
    bad = [(str(i), f"BUY {w} NOW!!! cheap {w} $9.99 | click here | free shipping")
           for i, w in enumerate(["watches", "pills", "shoes", "phones", "loans"] * 20)]
    model, report = train(good, bad, FeatureConfig(buckets=4096), heldout=0.2)
    assert report.heldout["accuracy"] == 1.0
    assert model.score("the dog sat by the fire and read a letter.") > 0.5
    assert model.score("BUY bags NOW!!! cheap bags | click here") < 0.5


def test_step_scores_and_thresholds(trained):
    out, _ = trained
    model = QualityModel.load(out)
    for text in (PROSE, MENU):
        expected = model.score(text)
        doc = Document("d", text)
        assert Quality({"model": str(out), "min_score": expected}).process(doc) is None
        assert doc.meta["quality_score"] == pytest.approx(expected)
        rule = Quality({"model": str(out), "min_score": min(1.0, expected + 1e-6)}).process(doc)
        assert rule == "low_score"
    assert model.score(PROSE) > 0.5 > model.score(MENU)
    assert Quality.columns == {"quality_score": pa.float32()}


def test_default_model_loads_offline_and_separates(monkeypatch):
    def refuse(self, address, *args, **kwargs):
        raise OSError("network access in a quality test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    from curation.steps.quality import load_model

    load_model.cache_clear()
    step = Quality()
    assert step.params.min_score == 0.3
    prose, menu = Document("p", PROSE), Document("m", MENU)
    assert step.process(prose) is None and prose.meta["quality_score"] > 0.7
    assert step.process(menu) == "low_score" and menu.meta["quality_score"] < 0.1
    assert DEFAULT_MODEL.stat().st_size + DEFAULT_MODEL.with_suffix(".npz").stat().st_size \
        < 300_000
    info = json.loads(DEFAULT_MODEL.read_text())
    assert info["features"]["shape_ngrams"] == 4 and info["trained"]["heldout"]["roc_auc"] > 0.99


def test_pipeline_annotate_and_filter(tmp_path, curate):
    records = [{"text": PROSE}, {"text": MENU}, {"text": PROSE + " " + PROSE}]
    write_jsonl(tmp_path / "in" / "a.jsonl", records)
    for mode in ("annotate", "filter"):
        out = tmp_path / mode
        pipeline = write_pipeline(tmp_path / f"{mode}.yaml", str(tmp_path / "in"), out,
                                  [{"quality": {"mode": mode}}])
        assert curate(pipeline, "--workers", "1") == 0
        kept = read_rows(next(out.glob("part-*.parquet")))
        step = next(s for s in manifest(out)["steps"] if s["name"] == "quality")
        schema = pq.read_schema(next(out.glob("part-*.parquet")))
        assert schema.field("quality_score").type == pa.float32()
        if mode == "annotate":
            assert len(kept) == 3 and step["flagged"] == {"low_score": 1}
        else:
            assert [r["text"] for r in kept] == [PROSE, PROSE + " " + PROSE]
            assert [r["reason"] for r in read_rows(out / "rejected")] == ["quality:low_score"]


def test_missing_model_is_one_error_line(tmp_path, curate, capsys):
    write_jsonl(tmp_path / "in" / "a.jsonl", [{"text": PROSE}])
    pipeline = write_pipeline(tmp_path / "p.yaml", str(tmp_path / "in"), tmp_path / "out",
                              [{"quality": {"model": str(tmp_path / "nope.json")}}])
    assert curate(pipeline) == 2
    assert "cannot read quality model" in capsys.readouterr().err


def test_cli_eval_and_errors(gristmill, trained, corpus, tmp_path, capsys):
    out, _ = trained
    positive, negative = corpus
    assert gristmill("quality", "eval", "--positive", positive, "--negative", negative,
                     "--model", out) == 0
    printed = capsys.readouterr().out
    assert "ROC-AUC" in printed and "positives 515" in printed
    assert gristmill("quality", "train", "--positive", positive, "--negative", negative,
                     "--out", tmp_path / "m.bin") == 2
    assert "must end in .json" in capsys.readouterr().err
    assert gristmill("quality", "train", "--positive", tmp_path / "none", "--negative",
                     negative, "--out", tmp_path / "m.json") == 2
    assert "matches no readable files" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        gristmill("quality", "train", "--positive", positive, "--negative", negative,
                  "--out", tmp_path / "m.json", "--buckets", "lots")
    assert "2**18" in capsys.readouterr().err
