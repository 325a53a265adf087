"""The quality classifier: logistic regression on hashed n-grams; training, saving, loading.

A model is two files: `NAME.json` (format, feature settings, training report, the weights
file's name and SHA-256) and `NAME.npz` next to it (`weights`, float32, one per bucket, and
`bias`). Loading reads the JSON, checks the checksum and opens the arrays with
`np.load(allow_pickle=False)`: nothing in a model file can run code.

Training minimizes the class-balanced logistic loss plus an L2 penalty with scipy's
trust-region Newton-CG (deterministic: same data and settings, same weights), on all documents
except a held-out share chosen by a hash of each document's id, and reports accuracy and
ROC-AUC on both.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize

from curation.core.errors import GristmillError
from curation.quality.features import FeatureConfig, Featurizer
from curation.quality.metrics import accuracy, roc_auc
from gristmill.atomic import write_bytes_atomic, write_json_atomic
from gristmill.hashing import unit_interval

FORMAT = "gristmill-quality-model"
VERSION = 1


class ModelFileError(GristmillError):
    """A quality model file is missing, not a model, or damaged."""


@dataclass
class QualityModel:
    """P(high quality | text) = sigmoid(weights . features(text) + bias)."""

    features: FeatureConfig
    weights: np.ndarray
    bias: float
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.weights = np.ascontiguousarray(self.weights, dtype=np.float32)
        if self.weights.shape != (self.features.buckets,):
            raise ValueError(f"weights have shape {self.weights.shape}, expected "
                             f"({self.features.buckets},)")
        self._featurizer = Featurizer(self.features)

    def score(self, text: str) -> float:
        index, values = self._featurizer.vector(text)
        z = float(np.dot(self.weights[index].astype(np.float64), values)) + self.bias
        return _sigmoid(z)

    def score_many(self, texts: Iterable[str]) -> np.ndarray:
        return np.array([self.score(t) for t in texts], dtype=np.float64)

    # -- files ---------------------------------------------------------------------------

    def save(self, path: str | Path) -> tuple[Path, Path]:
        """Write `path` (JSON) and the weights next to it (same name, `.npz`)."""
        path = Path(path)
        if path.suffix != ".json":
            raise ModelFileError(f"{path}: a model's file name must end in .json")
        data = npz_bytes({"weights": self.weights,
                          "bias": np.array([self.bias], dtype=np.float64)})
        weights_path = path.with_suffix(".npz")
        write_bytes_atomic(weights_path, data)
        write_json_atomic(path, {
            "format": FORMAT, "version": VERSION, "features": self.features.to_dict(),
            "weights_file": weights_path.name, "weights_sha256": hashlib.sha256(data).hexdigest(),
            **{k: v for k, v in self.info.items() if k not in ("format", "version")}})
        return path, weights_path

    @classmethod
    def load(cls, path: str | Path) -> QualityModel:
        path = Path(path)
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except OSError as err:
            raise ModelFileError(f"cannot read quality model {path}: {err.strerror}") from None
        except ValueError as err:
            raise ModelFileError(f"{path}: not a quality model (invalid JSON: {err})") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ModelFileError(f"{path}: not a quality model (no \"format\": \"{FORMAT}\"); "
                                 "make one with `gristmill quality train`")
        if meta.get("version") != VERSION:
            raise ModelFileError(f"{path}: model version {meta.get('version')} is not "
                                 f"supported (this gristmill reads version {VERSION})")
        weights_path = path.parent / Path(str(meta.get("weights_file", ""))).name
        try:
            data = weights_path.read_bytes()
        except OSError as err:
            raise ModelFileError(f"{path}: cannot read its weights {weights_path}: "
                                 f"{err.strerror}") from None
        if hashlib.sha256(data).hexdigest() != meta.get("weights_sha256"):
            raise ModelFileError(f"{weights_path}: checksum differs from {path.name}; the "
                                 "files do not belong together or one is damaged")
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
                weights, bias = arrays["weights"], float(arrays["bias"][0])
            features = FeatureConfig(**meta["features"])
            info = {k: v for k, v in meta.items()
                    if k not in ("features", "weights_file", "weights_sha256")}
            return cls(features, weights, bias, info)
        except (KeyError, TypeError, ValueError) as err:
            raise ModelFileError(f"{path}: damaged quality model ({err})") from None


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """A compressed .npz (what `np.savez_compressed` writes) with fixed timestamps, so the
    same arrays always give the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + np.exp(-z)) if z >= 0 else float(np.exp(z) / (1.0 + np.exp(z)))


# -- training ------------------------------------------------------------------------------


@dataclass
class TrainReport:
    """What training saw and how well the model separates held-out documents."""

    positives: int
    negatives: int
    train: dict[str, float]
    heldout: dict[str, float]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"positives": self.positives, "negatives": self.negatives,
                "train": self.train, "heldout": self.heldout, "seconds": round(self.seconds, 2)}


def fit(x: sp.csr_matrix, y: np.ndarray, l2: float, max_iter: int = 200
        ) -> tuple[np.ndarray, float]:
    """Weights and bias minimizing the class-balanced mean logistic loss + l2/2 |w|^2, by a
    trust-region Newton method with conjugate gradients (exact Hessian-vector products: two
    sparse products each), which needs a few dozen passes over the data at most."""
    y = y.astype(np.float64)
    n_pos = max(y.sum(), 1.0)
    n_neg = max(len(y) - y.sum(), 1.0)
    sample_weight = np.where(y > 0, 0.5 / n_pos, 0.5 / n_neg)  # each class weighs 1/2
    x = x.astype(np.float64).tocsr()
    xt = x.T.tocsr()
    dims = x.shape[1]

    def probabilities(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z = x @ theta[:dims] + theta[dims]
        return z, 0.5 * (1.0 + np.tanh(0.5 * z))  # sigmoid without overflow

    def loss_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = theta[:dims]
        z, p = probabilities(theta)
        # log(1 + exp(-z)) for y=1, log(1 + exp(z)) for y=0, computed stably
        loss = float(np.dot(sample_weight, np.logaddexp(0.0, np.where(y > 0, -z, z))))
        residual = sample_weight * (p - y)
        grad = np.empty_like(theta)
        grad[:dims] = xt @ residual + l2 * w
        grad[dims] = residual.sum()
        return loss + 0.5 * l2 * float(np.dot(w, w)), grad

    def hessian_times(theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        _, p = probabilities(theta)
        du = sample_weight * p * (1.0 - p) * (x @ v[:dims] + v[dims])
        out = np.empty_like(v)
        out[:dims] = xt @ du + l2 * v[:dims]
        out[dims] = du.sum()
        return out

    result = minimize(loss_and_grad, np.zeros(dims + 1), jac=True, hessp=hessian_times,
                      method="trust-ncg", options={"maxiter": max_iter, "gtol": 1e-7})
    return result.x[:dims].astype(np.float32), float(result.x[dims])


def heldout_mask(ids: list[str], fraction: float, seed: int = 0) -> np.ndarray:
    """True for the documents held out from training: chosen by a hash of the id."""
    return np.array([unit_interval(i, f"heldout{seed}") < fraction for i in ids], dtype=bool)


def featurize(documents: Iterable[tuple[str, str]], featurizer: Featurizer
              ) -> tuple[list[str], sp.csr_matrix]:
    """Ids and feature rows of (id, text) pairs, computed as they stream past."""
    ids, indices, values, indptr = [], [], [], [0]
    for doc_id, text in documents:
        index, value = featurizer.vector(text)
        ids.append(doc_id)
        indices.append(index)
        values.append(value)
        indptr.append(indptr[-1] + len(index))
    matrix = sp.csr_matrix(
        (np.concatenate(values) if values else np.zeros(0, np.float32),
         np.concatenate(indices) if indices else np.zeros(0, np.int64),
         np.array(indptr, dtype=np.int64)), shape=(len(ids), featurizer.config.buckets))
    return ids, matrix


def train(positives: Iterable[tuple[str, str]], negatives: Iterable[tuple[str, str]],
          features: FeatureConfig, l2: float = 1e-5, heldout: float = 0.1, seed: int = 0,
          max_iter: int = 200) -> tuple[QualityModel, TrainReport]:
    """Train on (id, text) pairs; `heldout` of each class (by id hash) is kept for the report.

    Texts are featurized as they are read, so only their sparse vectors stay in memory."""
    start = time.monotonic()
    featurizer = Featurizer(features)
    pos_ids, x_pos = featurize(positives, featurizer)
    neg_ids, x_neg = featurize(negatives, featurizer)
    if not pos_ids or not neg_ids:
        raise GristmillError("training needs at least one positive and one negative document")
    x = sp.vstack([x_pos, x_neg], format="csr")
    ids = [f"+{i}" for i in pos_ids] + [f"-{i}" for i in neg_ids]
    y = np.r_[np.ones(len(pos_ids)), np.zeros(len(neg_ids))].astype(bool)
    held = heldout_mask(ids, heldout, seed) if heldout > 0 else np.zeros(len(y), bool)
    if not y[~held].any() or y[~held].all():
        raise GristmillError("not enough documents outside the held-out share to train on "
                             "both classes; add documents or lower --heldout")
    weights, bias = fit(x[~held], y[~held], l2, max_iter)
    model = QualityModel(features, weights, bias)

    def report(mask: np.ndarray) -> dict[str, float]:
        if not mask.any():
            return {}
        z = x[mask] @ weights.astype(np.float64) + bias
        scores = 0.5 * (1.0 + np.tanh(0.5 * z))
        return {"documents": int(mask.sum()), "positives": int(y[mask].sum()),
                "accuracy": round(accuracy(y[mask], scores), 4),
                "roc_auc": round(roc_auc(y[mask], scores), 4)}

    result = TrainReport(len(pos_ids), len(neg_ids), report(~held), report(held),
                         time.monotonic() - start)
    trained = {k: v for k, v in result.to_dict().items() if k != "seconds"}  # reproducible
    model.info = {"trained": {**trained, "l2": l2, "heldout_fraction": heldout, "seed": seed}}
    return model, result
