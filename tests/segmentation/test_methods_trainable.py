"""Trainable methods: a forest from strokes on part of an image segments the rest."""

import io
import zipfile

import numpy as np
import pytest
from scipy import ndimage as ndi

from vesalius.common.errors import UnprocessableEntity
from vesalius.config import Settings
from vesalius.segmentation.classical import segment
from vesalius.segmentation.methods import find_method, list_methods
from vesalius.segmentation.methods.trainable import ForestError, load, rasterise, train
from vesalius.segmentation.metrics import average_precision
from vesalius.segmentation.synthetic import nuclei_image


def _strokes_on_left(labels: np.ndarray, share: float = 0.3) -> np.ndarray:
    """What a user paints: dabs inside nuclei, on the background, and along the lines where
    two nuclei touch, all on the left half only."""
    fg = labels > 0
    inner = ndi.binary_erosion(fg, iterations=2)
    background = ~ndi.binary_dilation(fg, iterations=3)
    other = ndi.minimum_filter(np.where(fg, labels, np.iinfo(np.int32).max), 3)
    between = fg & (ndi.maximum_filter(labels, 3) != other)
    dab = np.random.default_rng(0).random(labels.shape) < share
    strokes = np.zeros(labels.shape, np.uint8)
    strokes[inner & dab] = 1
    strokes[background & dab] = 2
    strokes[between] = 3
    strokes[:, labels.shape[1] // 2 :] = 0
    return strokes


@pytest.fixture(scope="module")
def trained() -> tuple[object, bytes]:
    sample = nuclei_image((384, 384), seed=11)
    return sample, train(sample.image, _strokes_on_left(sample.labels))


def test_strokes_on_one_half_beat_classical_on_the_other(trained: tuple) -> None:
    sample, data = trained
    method = find_method(Settings(), "trainable:7", {"trained": [(7, "My nuclei", data)]})
    assert method.info.kind == "trainable" and method.info.title == "My nuclei"
    result = method.run(sample.image, method.parse_params({}), lambda _p, _s: None)
    right = np.s_[:, sample.image.shape[1] // 2 :]
    learned = average_precision(sample.labels[right], result.labels[right])[0.5]
    classical = average_precision(sample.labels[right], segment(sample.image).labels[right])[0.5]
    assert learned > classical
    assert int(result.labels.max()) == len(result.cells)


def test_the_trained_forest_segments_another_image_of_the_same_kind(trained: tuple) -> None:
    _, data = trained
    other = nuclei_image((256, 256), seed=12, bits=16)
    method = find_method(Settings(), "trainable:7", {"trained": [(7, "n", data)]})
    result = method.run(other.image, method.parse_params({}), lambda _p, _s: None)
    assert average_precision(other.labels, result.labels)[0.5] >= 0.7


def test_polyline_strokes_train_a_model() -> None:
    sample = nuclei_image((160, 160), seed=13, count=20)
    cy, cx = sample.centres[0]
    strokes = [
        {"label": "nucleus", "points": [[cx - 3, cy], [cx + 3, cy]], "width": 3},
        {"label": "background", "points": [[0, 0], [159, 0], [159, 3]], "width": 3},
    ]
    mask = rasterise(sample.image.shape, strokes)
    assert (mask == 1).sum() > 10 and (mask == 2).sum() > 300
    load(train(sample.image, strokes))


def test_strokes_without_background_are_refused() -> None:
    with pytest.raises(UnprocessableEntity) as caught:
        train(np.zeros((64, 64), np.uint8), [{"label": "nucleus", "points": [[5, 5], [9, 9]]}])
    assert caught.value.code == "invalid_strokes"
    with pytest.raises(UnprocessableEntity):
        train(np.zeros((64, 64), np.uint8), [{"label": "cytoplasm", "points": [[5, 5]]}])


def test_model_bytes_never_unpickle_and_bad_ones_are_unavailable(trained: tuple) -> None:
    _, data = trained
    # An npz holding a pickled object array is refused, not loaded.
    evil = io.BytesIO()
    np.save(evil, np.array([object()], dtype=object), allow_pickle=True)
    packed = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(packed, "w") as target:
        for item in source.namelist():
            target.writestr(item, evil.getvalue() if item == "left.npy" else source.read(item))
    with pytest.raises(ForestError):
        load(packed.getvalue())
    # A child index pointing back up the tree (an endless walk) is refused.
    with np.load(io.BytesIO(data)) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["left"][arrays["left"] > 0] = 0
    tampered = io.BytesIO()
    np.savez(tampered, **arrays)
    with pytest.raises(ForestError, match="inconsistent"):
        load(tampered.getvalue())
    scope = {"trained": [(1, "garbage", b"not a model"), (2, "good", data)]}
    listed = {m.info.name: m.info for m in list_methods(Settings(), scope)}
    assert listed["trainable:2"].available
    assert not listed["trainable:1"].available and listed["trainable:1"].reason
    method = find_method(Settings(), "trainable:1", scope)
    with pytest.raises(UnprocessableEntity) as caught:
        method.run(np.zeros((32, 32), np.uint8), method.parse_params({}), lambda _p, _s: None)
    assert caught.value.code == "model_unavailable"
