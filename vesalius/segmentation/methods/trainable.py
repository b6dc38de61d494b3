"""``trainable`` methods: a random forest a project trains from a few strokes.

``train(image, strokes)`` fits a scikit-learn random forest on scikit-image's multiscale
intensity/edge/texture features of the stroked pixels and returns the forest as bytes in a
format of our own: a NumPy ``.npz`` of plain tree arrays plus a JSON header. Loading it never
unpickles anything (``allow_pickle=False``) and every index is checked, so bytes from a
database or an upload cannot run code or send prediction out of bounds. Prediction walks
the trees with NumPy, tile by tile, then the shared seeded watershed makes the cells.

A project's trained models arrive in ``scope["trained"] = [(id, name, model_bytes)]`` and
are listed as ``trainable:<id>``.
"""

import functools
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from skimage.draw import line
from skimage.feature import multiscale_basic_features

from vesalius.common.errors import UnprocessableEntity
from vesalius.segmentation.methods import (
    Method,
    MethodInfo,
    Progress,
    Segmentation,
    register_source,
)
from vesalius.segmentation.methods.classical import parse_declared
from vesalius.segmentation.methods.postprocess import PARAMS, labels_from_maps

FORMAT = "vesalius-forest/1"
CLASSES = ("nucleus", "background", "boundary")  # stroke label k+1 = CLASSES[k]
SIGMA_MIN, SIGMA_MAX = 1.0, 16.0
TREES, DEPTH = 40, 14
PIXELS_PER_CLASS = 20_000  # stroked pixels sampled per class: enough, and trains in seconds
TILE = 512
MAX_NODES = 2_000_000  # a trained forest has ~10⁴; more means the bytes are not ours
# The boundary class already cuts touching cells apart, so seeds need split less eagerly
# (0.3 beat 0.5 on every generated image tried: AP@0.5 +0.02 to +0.06).
TRAINABLE_PARAMS = {
    **PARAMS,
    "split_sensitivity": {**PARAMS["split_sensitivity"], "default": 0.3},
}


class ForestError(ValueError):
    """Model bytes that are not a forest this code wrote."""


def _normalised(image: np.ndarray) -> np.ndarray:
    data = image.astype(np.float32)
    lo, hi = (float(v) for v in np.percentile(data[::2, ::2], (1.0, 99.8)))
    return (data - lo) / max(hi - lo, 1e-6)


def _features(norm: np.ndarray) -> np.ndarray:
    """(H, W, F) float32 features; the same call at training and at prediction time."""
    features = multiscale_basic_features(norm, sigma_min=SIGMA_MIN, sigma_max=SIGMA_MAX)
    return np.asarray(features, np.float32)


def rasterise(shape: tuple[int, int], strokes: Any) -> np.ndarray:
    """Strokes as a uint8 mask (0 unlabelled, 1 nucleus, 2 background, 3 boundary): either
    such a mask already, or polylines ``[{"label": "nucleus", "points": [[x, y], ...],
    "width": 5}, ...]``."""
    if isinstance(strokes, np.ndarray):
        if strokes.shape != shape:
            raise UnprocessableEntity(
                "the stroke mask must have the image's shape", code="invalid_strokes"
            )
        if strokes.min() < 0 or strokes.max() > len(CLASSES):
            raise UnprocessableEntity(
                f"stroke mask values are 0..{len(CLASSES)}", code="invalid_strokes"
            )
        return strokes.astype(np.uint8)
    mask = np.zeros(shape, np.uint8)
    h, w = shape
    for i, stroke in enumerate(strokes):
        try:
            label = CLASSES.index(stroke["label"]) + 1
            points = np.asarray(stroke["points"], float).reshape(-1, 2)
            width = float(stroke.get("width", 5))
        except (KeyError, TypeError, ValueError):
            raise UnprocessableEntity(
                f"strokes[{i}] needs a label ({', '.join(CLASSES)}) and points [[x, y], ...]",
                code="invalid_strokes",
                details={"index": i},
            ) from None
        half = max(0, round(width / 2))
        for (x0, y0), (x1, y1) in zip(
            points, points[1:] if len(points) > 1 else points, strict=False
        ):
            rr, cc = line(round(y0), round(x0), round(y1), round(x1))
            for dy in range(-half, half + 1):
                for dx in range(-half, half + 1):
                    if dy * dy + dx * dx <= half * half:
                        r, c = rr + dy, cc + dx
                        ok = (r >= 0) & (r < h) & (c >= 0) & (c < w)
                        mask[r[ok], c[ok]] = label
    return mask


def train(image: np.ndarray, strokes: Any, *, seed: int = 0) -> bytes:
    """A forest from strokes on ``image`` (see ``rasterise``); needs nucleus and background."""
    from sklearn.ensemble import RandomForestClassifier

    if image.ndim != 2:
        raise UnprocessableEntity("training needs one channel (a 2-D image)", code="invalid_image")
    mask = rasterise(image.shape, strokes)
    present = set(np.unique(mask[mask > 0]).tolist())
    if not {1, 2} <= present:
        raise UnprocessableEntity(
            "strokes need both nucleus and background pixels", code="invalid_strokes"
        )
    features = _features(_normalised(image))
    rng = np.random.default_rng(seed)
    picked = []
    for label in sorted(present):
        where = np.flatnonzero(mask.ravel() == label)
        if where.size > PIXELS_PER_CLASS:
            where = rng.choice(where, PIXELS_PER_CLASS, replace=False)
        picked.append(where)
    index = np.concatenate(picked)
    x = features.reshape(-1, features.shape[-1])[index]
    y = mask.ravel()[index]
    forest = RandomForestClassifier(
        n_estimators=TREES, max_depth=DEPTH, min_samples_leaf=2, n_jobs=1, random_state=seed
    )
    forest.fit(x, y)
    return _dump(forest, features.shape[-1])


@dataclass(frozen=True)
class Forest:
    """Trees as flat arrays; tree t's nodes are ``roots[t]`` and the ones after it."""

    n_features: int
    classes: np.ndarray  # stroke labels, column order of ``value``
    roots: np.ndarray  # int64 (trees,)
    left: np.ndarray  # int64, -1 on leaves (absolute node index)
    right: np.ndarray
    feature: np.ndarray  # int64
    threshold: np.ndarray  # float32
    value: np.ndarray  # float32 (nodes, classes): class probabilities at each node
    depth: int

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Mean class probability over trees for each row of ``x`` (n, F)."""
        out = np.zeros((x.shape[0], self.classes.size), np.float32)
        rows = np.arange(x.shape[0])
        for root in self.roots:
            node = np.full(x.shape[0], root, np.int64)
            for _ in range(self.depth):
                inner = self.left[node] >= 0
                if not inner.any():
                    break
                go_left = x[rows, self.feature[node]] <= self.threshold[node]
                node = np.where(inner, np.where(go_left, self.left[node], self.right[node]), node)
            out += self.value[node]
        out /= self.roots.size
        return out


def _dump(forest: Any, n_features: int) -> bytes:
    lefts, rights, features, thresholds, values, roots = [], [], [], [], [], []
    offset = 0
    for tree in (estimator.tree_ for estimator in forest.estimators_):
        roots.append(offset)
        left, right = tree.children_left.astype(np.int64), tree.children_right.astype(np.int64)
        lefts.append(np.where(left >= 0, left + offset, -1))
        rights.append(np.where(right >= 0, right + offset, -1))
        features.append(np.maximum(tree.feature, 0).astype(np.int64))
        thresholds.append(tree.threshold.astype(np.float32))
        counts = tree.value[:, 0, :].astype(np.float64)
        values.append(counts / np.maximum(counts.sum(axis=1, keepdims=True), 1e-12))
        offset += tree.node_count
    header = {
        "format": FORMAT,
        "features": n_features,
        "sigma": [SIGMA_MIN, SIGMA_MAX],
        "depth": int(max(e.tree_.max_depth for e in forest.estimators_)),
    }
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        header=np.frombuffer(json.dumps(header).encode(), np.uint8),
        classes=np.asarray(forest.classes_, np.int64),
        roots=np.asarray(roots, np.int64),
        left=np.concatenate(lefts),
        right=np.concatenate(rights),
        feature=np.concatenate(features),
        threshold=np.concatenate(thresholds),
        value=np.concatenate(values).astype(np.float32),
    )
    return buffer.getvalue()


def load(data: bytes) -> Forest:
    """The forest in ``data``; ``ForestError`` if the bytes are not one we wrote."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        header = json.loads(bytes(arrays["header"].astype(np.uint8)).decode())
    except Exception as exc:  # zip, npy and JSON each raise their own errors
        raise ForestError(f"not a trained model ({type(exc).__name__})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ForestError("not a trained model of this version")
    try:
        left, right = arrays["left"].astype(np.int64), arrays["right"].astype(np.int64)
        feature, roots = arrays["feature"].astype(np.int64), arrays["roots"].astype(np.int64)
        threshold, value = arrays["threshold"].astype(np.float32), arrays["value"]
        classes = arrays["classes"].astype(np.int64)
        n_features, depth = int(header["features"]), int(header["depth"])
    except (KeyError, TypeError, ValueError):
        raise ForestError("the trained model is incomplete") from None
    n = left.size
    nodes = np.arange(n)
    # Children come after their parent (as scikit-learn writes them), so every walk ends.
    sound = (
        0 < n <= MAX_NODES
        and right.size == feature.size == threshold.size == n
        and value.ndim == 2
        and value.shape == (n, classes.size)
        and set(classes.tolist()) <= set(range(1, len(CLASSES) + 1))
        and {1, 2} <= set(classes.tolist())
        and n_features == _feature_count()
        and 0 < depth <= 64
        and roots.size > 0
        and bool(np.all((roots >= 0) & (roots < n)))
        and bool(np.all((left == -1) == (right == -1)))
        and bool(np.all((left == -1) | ((left > nodes) & (left < n))))
        and bool(np.all((right == -1) | ((right > nodes) & (right < n))))
        and bool(np.all((feature >= 0) & (feature < n_features)))
        and bool(np.all(np.isfinite(value)))
    )
    if not sound:
        raise ForestError("the trained model's trees are inconsistent")
    return Forest(
        n_features, classes, roots, left, right, feature, threshold, value.astype(np.float32), depth
    )


@functools.cache
def _feature_count() -> int:
    return int(_features(np.zeros((8, 8), np.float32)).shape[-1])


def probabilities(forest: Forest, image: np.ndarray, progress: Progress) -> np.ndarray:
    """(classes, H, W) pixel probabilities, features computed tile by tile with a margin
    wider than the largest filter so tiles match the whole-image features."""
    norm = _normalised(image)
    h, w = norm.shape
    margin = math.ceil(4 * SIGMA_MAX)
    out = np.zeros((forest.classes.size, h, w), np.float32)
    ys, xs = range(0, h, TILE), range(0, w, TILE)
    total, done = len(ys) * len(xs), 0
    for y0 in ys:
        for x0 in xs:
            y1, x1 = min(h, y0 + TILE), min(w, x0 + TILE)
            ty0, tx0 = max(0, y0 - margin), max(0, x0 - margin)
            window = norm[ty0 : min(h, y1 + margin), tx0 : min(w, x1 + margin)]
            feats = _features(window)[y0 - ty0 : y1 - ty0, x0 - tx0 : x1 - tx0]
            p = forest.predict(feats.reshape(-1, feats.shape[-1]))
            out[:, y0:y1, x0:x1] = p.T.reshape(-1, y1 - y0, x1 - x0)
            done += 1
            progress(5 + 75 * done // total, f"classifying pixels, tile {done}/{total}")
    return out


class TrainableMethod:
    def __init__(self, model_id: Any, name: str, data: bytes) -> None:
        self.forest: Forest | None = None
        reason = None
        try:
            self.forest = load(data)
        except ForestError as exc:
            reason = str(exc)
        self.info = MethodInfo(
            name=f"trainable:{model_id}",
            kind="trainable",
            title=name,
            description="Random forest trained on this project's strokes (nucleus, "
            "background, boundary), cells split by the classical watershed.",
            params=TRAINABLE_PARAMS,
            available=reason is None,
            reason=reason,
        )

    def parse_params(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        return parse_declared(raw, TRAINABLE_PARAMS)

    def run(self, image: np.ndarray, params: Any, progress: Progress) -> Segmentation:
        if self.forest is None:
            raise UnprocessableEntity(
                f"model {self.info.name} is unavailable: {self.info.reason}",
                code="model_unavailable",
            )
        if image.ndim != 2:
            raise ValueError("segment expects one channel (a 2-D array)")
        progress(2, "computing features")
        probs = probabilities(self.forest, image, progress)
        column = {int(c): i for i, c in enumerate(self.forest.classes)}
        nucleus = probs[column[1]]
        boundary = probs[column[3]] if 3 in column else None
        # A boundary pixel still belongs to a cell: the mask is nucleus or boundary.
        foreground = nucleus if boundary is None else nucleus + boundary
        progress(85, "splitting cells")
        result = labels_from_maps(image, foreground, boundary=boundary, **params)
        progress(100, "done")
        return result


class _Trained:
    def methods(self, settings: Any, scope: Mapping[str, Any]) -> list[Method]:
        trained: Sequence[tuple[Any, str, bytes]] = scope.get("trained", ())
        return [TrainableMethod(i, name, data) for i, name, data in trained]


register_source(_Trained())
