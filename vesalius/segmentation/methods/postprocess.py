"""Pixel maps (foreground probability, boundary, distance) to labelled cells.

Every learned method ends here so their cells are split and measured exactly like the
classical pipeline's: distance transform, the same blended-maximum seeds, a watershed,
the same size filter and the same measuring code.
"""

import math
from typing import Any, Literal

import numpy as np
from scipy import ndimage as ndi
from skimage.segmentation import watershed

from vesalius.segmentation.cells import measure_labels
from vesalius.segmentation.classical import Segmentation, _seeds, estimate_diameter

OutputKind = Literal["foreground", "boundary", "distance"]

# The parameters of every method that ends in labels_from_maps.
PARAMS: dict[str, dict[str, Any]] = {
    "threshold": {
        "type": "number",
        "default": 0.5,
        "min": 0,
        "max": 1000,
        "description": "Map value above which a pixel is a cell (a distance map: pixels).",
    },
    "diameter": {
        "type": "number",
        "default": None,
        "min": 3,
        "max": 500,
        "description": "Expected cell diameter in pixels; empty: estimated from the map.",
    },
    "split_sensitivity": {
        "type": "number",
        "default": 0.5,
        "min": 0,
        "max": 1,
        "description": "0 never splits touching cells, 1 splits eagerly.",
    },
    "min_area": {
        "type": "integer",
        "default": None,
        "min": 1,
        "max": 10_000_000,
        "description": "Smallest cell kept, in pixels; empty: a fifth of the expected area.",
    },
}


def labels_from_maps(
    intensity: np.ndarray,
    foreground: np.ndarray,
    *,
    boundary: np.ndarray | None = None,
    distance: np.ndarray | None = None,
    threshold: float = 0.5,
    diameter: float | None = None,
    split_sensitivity: float = 0.5,
    min_area: int | None = None,
) -> Segmentation:
    """``foreground`` is a probability in [0, 1] (or, with ``distance``, anything whose
    ``> threshold`` is the mask). ``boundary``, a probability of being on a cell's edge,
    cuts touching cells apart before the distance transform. ``distance``, a predicted
    distance to the background, replaces the computed one."""
    mask = foreground > threshold
    mask = ndi.binary_fill_holes(ndi.binary_opening(mask))
    interior = mask if boundary is None else mask & (boundary <= threshold)
    if distance is None:
        dist = ndi.distance_transform_edt(interior).astype(np.float32)
    else:
        dist = np.where(mask, np.maximum(distance, 0), 0).astype(np.float32)
    if not diameter:
        diameter = estimate_diameter(interior, 1) or 20.0
    diameter = float(np.clip(diameter, 4.0, 400.0))
    radius = diameter / 2
    # The probability above the threshold plays the part of the classical contrast term.
    contrast = (foreground - threshold) / max(1e-6, 1 - threshold) if distance is None else 0
    markers = _seeds(dist, np.asarray(contrast, np.float32), interior, radius, split_sensitivity)
    labels = watershed(-dist, markers, mask=mask).astype(np.int32, copy=False)
    expected_area = math.pi * radius**2
    smallest = min_area if min_area is not None else max(8, int(expected_area / 5))
    sizes = np.bincount(labels.ravel())
    drop = sizes < smallest
    drop[0] = False
    if drop.any():
        labels[drop[labels]] = 0
    renumber = np.zeros(int(labels.max()) + 1, np.int32)  # ids 1..n without gaps
    cells: list[dict[str, Any]] = []
    for label, cell in measure_labels(labels, intensity):
        cells.append({"id": len(cells) + 1, **cell})
        renumber[label] = len(cells)
    return Segmentation(labels=renumber[labels], cells=cells, diameter=diameter)
