"""The classical model on generated images whose cells are known."""

import math

import numpy as np
import pytest
from scipy import ndimage as ndi

from vesalius.segmentation.cells import measure_labels
from vesalius.segmentation.classical import ClassicalParams, segment
from vesalius.segmentation.metrics import average_precision
from vesalius.segmentation.synthetic import nuclei_image


def _disc(shape: tuple[int, int], cy: float, cx: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2


def test_finds_the_generated_nuclei_where_they_are() -> None:
    sample = nuclei_image((384, 384), seed=3)
    result = segment(sample.image)
    truth = len(sample.centres)
    assert abs(len(result.cells) - truth) <= 0.15 * truth
    centroids = np.array([[c["centroidY"], c["centroidX"]] for c in result.cells])
    centres = np.array(ndi.center_of_mass(sample.labels > 0, sample.labels, range(1, truth + 1)))
    nearest = np.min(
        np.hypot(*(centres[:, None, :] - centroids[None, :, :]).transpose(2, 0, 1)), axis=1
    )
    assert np.mean(nearest < 5) >= 0.8
    assert average_precision(sample.labels, result.labels)[0.5] >= 0.7
    # The label image and the cell list agree.
    assert int(result.labels.max()) == len(result.cells)
    assert {c["id"] for c in result.cells} == set(range(1, len(result.cells) + 1))


def test_sixteen_bit_and_eight_bit_images_give_the_same_cells() -> None:
    eight = nuclei_image((256, 256), seed=4, bits=8)
    sixteen = nuclei_image((256, 256), seed=4, bits=16)
    a, b = segment(eight.image), segment(sixteen.image)
    assert abs(len(a.cells) - len(b.cells)) <= 2


def test_tiles_do_not_split_or_double_count_cells() -> None:
    sample = nuclei_image((400, 400), seed=5)
    whole = segment(sample.image, tile_core=1024)
    tiled = segment(sample.image, tile_core=96)
    assert abs(len(whole.cells) - len(tiled.cells)) <= 0.03 * len(whole.cells) + 1
    assert average_precision(whole.labels, tiled.labels)[0.5] >= 0.95


def test_touching_nuclei_are_split() -> None:
    image = np.zeros((80, 120), np.uint8)
    image[_disc(image.shape, 40, 40, 15)] = 200
    image[_disc(image.shape, 40, 66, 15)] = 200
    result = segment(image, ClassicalParams(diameter=30))
    assert len(result.cells) == 2
    xs = sorted(c["centroidX"] for c in result.cells)
    assert xs[0] == pytest.approx(39, abs=3) and xs[1] == pytest.approx(67, abs=3)


def test_size_and_border_filters() -> None:
    image = np.zeros((100, 100), np.uint8)
    image[_disc(image.shape, 50, 50, 12)] = 200
    image[_disc(image.shape, 20, 80, 3)] = 200  # debris
    image[_disc(image.shape, 50, 2, 10)] = 200  # cut by the edge
    kept = segment(image, ClassicalParams(diameter=24, min_area=100))
    assert len(kept.cells) == 2
    inner = segment(image, ClassicalParams(diameter=24, min_area=100, exclude_border=True))
    assert [round(c["centroidX"]) for c in inner.cells] == [50]
    capped = segment(image, ClassicalParams(diameter=24, min_area=100, max_area=400))
    assert [round(c["centroidX"]) for c in capped.cells] != [50]


def test_an_empty_image_has_no_cells() -> None:
    result = segment(np.full((64, 64), 17, np.uint16))
    assert result.cells == []


def test_a_disc_measures_as_a_disc() -> None:
    labels = _disc((60, 60), 30, 30, 12).astype(np.int32)
    intensity = np.where(labels > 0, 100, 0).astype(np.uint8)
    [(label, cell)] = measure_labels(labels, intensity)
    assert label == 1
    assert cell["area"] == int(labels.sum())
    assert cell["area"] == pytest.approx(math.pi * 144, rel=0.03)
    assert cell["circularity"] == pytest.approx(1.0, abs=0.05)
    assert cell["eccentricity"] < 0.1
    assert cell["solidity"] > 0.97
    assert cell["majorAxis"] == pytest.approx(24, abs=1) and cell["minorAxis"] == pytest.approx(
        24, abs=1
    )
    assert (cell["centroidX"], cell["centroidY"]) == (30, 30)
    assert cell["meanIntensity"] == 100 and cell["minIntensity"] == 100
    assert cell["bbox"] == [18, 18, 43, 43]
    polygon = np.array(cell["polygon"])
    radii = np.hypot(polygon[:, 0] - 30, polygon[:, 1] - 30)
    assert np.all(np.abs(radii - 12.5) < 1.0)


def test_an_ellipse_and_a_crescent() -> None:
    yy, xx = np.mgrid[0:80, 0:80]
    ellipse = ((xx - 40) / 24) ** 2 + ((yy - 40) / 8) ** 2 <= 1
    [(_, cell)] = measure_labels(ellipse.astype(np.int32), ellipse.astype(np.uint8))
    assert cell["majorAxis"] == pytest.approx(48, rel=0.05)
    assert cell["minorAxis"] == pytest.approx(16, rel=0.08)
    assert abs(cell["orientation"]) < 2  # the long axis lies along x
    assert cell["eccentricity"] == pytest.approx(math.sqrt(1 - (8 / 24) ** 2), abs=0.02)
    # Not star-shaped from its centroid: traced exactly instead of by rays.
    crescent = _disc((80, 80), 40, 40, 20) & ~_disc((80, 80), 40, 52, 18)
    [(_, moon)] = measure_labels(crescent.astype(np.int32), crescent.astype(np.uint8))
    polygon = np.array(moon["polygon"])
    x, y = polygon[:, 0], polygon[:, 1]
    shoelace = 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
    assert shoelace == pytest.approx(moon["area"], rel=0.12)
    assert moon["solidity"] < 0.7


def test_average_precision_counts_matches() -> None:
    truth = np.zeros((20, 20), np.int32)
    truth[2:8, 2:8] = 1
    truth[12:18, 12:18] = 2
    assert average_precision(truth, truth)[0.5] == 1.0
    half = truth.copy()
    half[half == 2] = 0
    assert average_precision(truth, half)[0.5] == pytest.approx(0.5)
