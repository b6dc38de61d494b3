"""The ``classical`` model: background correction, automatic threshold, distance transform
with h-maxima seeds, watershed to split touching nuclei, size and border filters.

Speed and memory come from two choices. The global steps (normalisation, background,
threshold, the cell-size estimate) run on a block-averaged copy of at most ~512² pixels.
The pixel-level steps (smoothing, mask, distance, seeds, watershed, measuring) run tile by
tile, each tile with a margin wider than a cell, so no full-size float or distance image is
ever allocated: peak memory is the int32 label image plus one tile's temporaries. A cell
belongs to the tile whose core holds its centroid, so tiles never count a cell twice.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import ndimage as ndi
from skimage.filters import threshold_li, threshold_otsu, threshold_triangle
from skimage.segmentation import watershed

from vesalius.segmentation.cells import measure_labels

ThresholdMethod = Literal["otsu", "local", "li", "triangle"]
Progress = Callable[[int, str], None]

# The global steps run on an image of at most this many pixels a side.
OVERVIEW_SIZE = 512
TILE_CORE = 512


@dataclass(frozen=True)
class ClassicalParams:
    """Parameters of the classical pipeline (all optional; the defaults need no tuning)."""

    diameter: float | None = None  # expected cell diameter in pixels; None: estimated
    threshold: ThresholdMethod = "li"
    split_sensitivity: float = 0.5  # 0 = never split touching cells, 1 = split eagerly
    min_area: int | None = None  # pixels; default: a fifth of the expected cell's area
    max_area: int | None = None  # pixels; default: none
    exclude_border: bool = False  # drop cells touching the image edge
    background_correction: bool = True


@dataclass
class Segmentation:
    labels: np.ndarray  # int32, 0 = background, cell i has label i
    cells: list[dict[str, Any]]
    diameter: float
    stats: dict[str, Any] = field(default_factory=dict)


def _no_progress(_pct: int, _stage: str) -> None:
    return None


def block_mean(image: np.ndarray, factor: int) -> np.ndarray:
    """Average of each ``factor``² block (edges padded by repetition), as float32."""
    if factor == 1:
        return image.astype(np.float32)
    h, w = image.shape
    ph, pw = -h % factor, -w % factor
    src = np.pad(image, ((0, ph), (0, pw)), mode="edge") if ph or pw else image
    hh, ww = src.shape
    out = np.zeros((hh // factor, ww // factor), np.float32)
    for dy in range(factor):  # strided sums: no float copy of the full image
        for dx in range(factor):
            out += src[dy::factor, dx::factor]
    out /= factor * factor
    return out


def _interp_matrix(n_out: int, start: int, factor: int, n_small: int) -> np.ndarray:
    """Linear interpolation weights from a block-mean axis back to full-resolution rows."""
    pos = (np.arange(start, start + n_out, dtype=np.float32) + 0.5) / factor - 0.5
    pos = np.clip(pos, 0, n_small - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, n_small - 1)
    frac = pos - lo
    weights = np.zeros((n_out, n_small), np.float32)
    rows = np.arange(n_out)
    np.add.at(weights, (rows, lo), 1 - frac)
    np.add.at(weights, (rows, hi), frac)
    return weights


def _threshold_value(image: np.ndarray, method: ThresholdMethod) -> float:
    # A quarter of the overview's pixels fix a histogram threshold as well as all of them.
    values = image[::2, ::2].ravel()
    if method == "li":
        return float(threshold_li(values))
    if method == "triangle":
        return float(threshold_triangle(values))
    return float(threshold_otsu(values))


def estimate_diameter(mask: np.ndarray, factor: int) -> float | None:
    """Typical cell diameter from a rough foreground mask: twice the median inscribed radius
    of its blobs, where a clump of touching cells counts by its widest point (the radius of
    a clump is that of its cells)."""
    labels, count = ndi.label(mask)
    if count == 0:
        return None
    distance = ndi.distance_transform_edt(mask)
    radii = ndi.maximum(distance, labels, np.arange(1, count + 1))
    radii = np.asarray(radii, float)
    radii = radii[radii >= 1.5]
    if radii.size == 0:
        return None
    return float(2 * np.median(radii) * factor)


@dataclass
class _Overview:
    factor: int
    low: float  # intensity of the 1st percentile (raw units)
    scale: float  # 1 / (99.8th percentile - low)
    threshold_map: np.ndarray  # block-mean grid, normalised units: smoothed > map → cell
    diameter: float


def _overview(image: np.ndarray, params: ClassicalParams) -> _Overview:
    h, w = image.shape
    factor = max(1, math.ceil(max(h, w) / OVERVIEW_SIZE))
    small = block_mean(image, factor)
    low, high = np.percentile(small, (1.0, 99.8))
    scale = 1.0 / max(float(high - low), 1e-6)
    small = (small - low) * scale
    diameter = params.diameter
    if not diameter:
        # A first, generous guess of the background (an eighth of the image) is enough to
        # find the blobs whose width gives the cell size.
        rough = ndi.gaussian_filter(small, 1.0)
        if params.background_correction:
            box = max(3, max(small.shape) // 8)
            rough = rough - ndi.uniform_filter(ndi.uniform_filter(small, box), box)
        method: ThresholdMethod = "li" if params.threshold == "local" else params.threshold
        mask = rough > _threshold_value(rough, method)
        mask = ndi.binary_opening(mask)
        diameter = estimate_diameter(mask, factor) or 20.0
    diameter = float(np.clip(diameter, 4.0, 400.0))
    d_small = diameter / factor
    # Thresholds are chosen on the image smoothed as the tiles will be, so noise does not
    # move them.
    small = ndi.gaussian_filter(small, max(0.8, diameter / 12) / factor)
    # Background and local levels vary over a few cell diameters: a grid with ~4 cells per
    # diameter holds them (and keeps the large filters cheap).
    grid = max(1, int(d_small // 4))
    coarse = block_mean(small, grid)
    d_coarse = d_small / grid
    sh, sw = small.shape
    ch, cw = coarse.shape
    if params.background_correction:
        size = max(3, round(2.0 * d_coarse) | 1)
        background = ndi.maximum_filter(ndi.minimum_filter(coarse, size), size)
        background = ndi.gaussian_filter(background, max(1.0, d_coarse))
    else:
        background = np.zeros_like(coarse)
    up_rows, up_cols = _interp_matrix(sh, 0, grid, ch), _interp_matrix(sw, 0, grid, cw)
    corrected = small - up_rows @ background @ up_cols.T
    global_t = _threshold_value(
        corrected, "li" if params.threshold == "local" else params.threshold
    )
    if params.threshold == "local":
        local_mean = ndi.gaussian_filter(block_mean(corrected, grid), max(1.0, 2.0 * d_coarse))
        # Local mean, but never below half the global threshold (empty regions stay empty).
        threshold_map = background + np.maximum(local_mean, 0.5 * global_t)
    else:
        threshold_map = background + global_t
    factor *= grid
    return _Overview(factor, float(low), scale, threshold_map.astype(np.float32), diameter)


def _seeds(
    distance: np.ndarray, contrast: np.ndarray, mask: np.ndarray, radius: float, sensitivity: float
) -> np.ndarray:
    """Markers: maxima of the distance map blended with brightness (nuclei are brightest
    inside, so two touching nuclei with a shallow neck still get a seed each), at least a
    sensitivity-dependent fraction of a radius apart. A maximum filter finds them in one pass
    (``peak_local_max`` and ``h_maxima`` sort every pixel: 10-30x slower on a tile)."""
    score = distance + radius * 0.5 * np.clip(contrast, 0, 1.5)
    score = ndi.gaussian_filter(score, 0.5)
    # Tuned on the generated benchmark images (bench/segmentation.py): 0.4 r at the default.
    spacing = radius * (0.2 + 0.4 * (1.0 - float(np.clip(sensitivity, 0, 1))))
    size = max(3, round(2 * spacing) | 1)
    peaks = (score == ndi.maximum_filter(score, size)) & mask & (distance >= 1)
    markers: np.ndarray = ndi.label(peaks, structure=np.ones((3, 3), bool))[0]
    return markers.astype(np.int32)


def _segment_tile(
    tile: np.ndarray, origin: tuple[int, int], overview: _Overview, params: ClassicalParams
) -> tuple[np.ndarray, np.ndarray]:
    """Labels of one tile and the smoothed, normalised intensity used for them."""
    h, w = tile.shape
    oy, ox = origin
    f = overview.factor
    sh, sw = overview.threshold_map.shape
    norm = (tile.astype(np.float32) - overview.low) * overview.scale
    radius = overview.diameter / 2
    smoothed = ndi.gaussian_filter(norm, max(0.8, radius / 6))
    threshold = (
        _interp_matrix(h, oy, f, sh) @ overview.threshold_map @ _interp_matrix(w, ox, f, sw).T
    )
    mask = smoothed > threshold
    mask = ndi.binary_opening(mask, iterations=max(1, int(radius // 6)))
    mask = ndi.binary_fill_holes(mask)
    distance = ndi.distance_transform_edt(mask).astype(np.float32)
    markers = _seeds(distance, smoothed - threshold, mask, radius, params.split_sensitivity)
    labels = watershed(-distance, markers, mask=mask)
    return labels.astype(np.int32, copy=False), smoothed


def segment(
    image: np.ndarray,
    params: ClassicalParams | None = None,
    progress: Progress = _no_progress,
    tile_core: int = TILE_CORE,
) -> Segmentation:
    """Segment a 2-D single-channel image (any integer or float dtype)."""
    params = params or ClassicalParams()
    if image.ndim != 2:
        raise ValueError("segment expects one channel (a 2-D array)")
    progress(2, "analysing the image")
    overview = _overview(image, params)
    diameter = overview.diameter
    expected_area = math.pi * (diameter / 2) ** 2
    min_area = params.min_area if params.min_area is not None else max(8, int(expected_area / 5))
    max_area = params.max_area
    margin = math.ceil(diameter * 1.5) + 4
    h, w = image.shape
    labels = np.zeros((h, w), np.int32)
    cells: list[dict[str, Any]] = []
    ys = list(range(0, h, tile_core))
    xs = list(range(0, w, tile_core))
    total = len(ys) * len(xs)
    done = 0
    for y0 in ys:
        for x0 in xs:
            y1, x1 = min(h, y0 + tile_core), min(w, x0 + tile_core)
            ty0, tx0 = max(0, y0 - margin), max(0, x0 - margin)
            ty1, tx1 = min(h, y1 + margin), min(w, x1 + margin)
            raw = image[ty0:ty1, tx0:tx1]
            tile_labels, _ = _segment_tile(raw, (ty0, tx0), overview, params)
            sizes = np.bincount(tile_labels.ravel())
            drop = sizes < min_area
            if max_area is not None:
                drop |= sizes > max_area
            drop[0] = False
            if drop.any():
                tile_labels[drop[tile_labels]] = 0

            def in_core(
                cy: np.ndarray,
                cx: np.ndarray,
                oy: int = ty0 - y0,
                ox: int = tx0 - x0,
                ch: int = y1 - y0,
                cw: int = x1 - x0,
            ) -> np.ndarray:
                gy, gx = cy + oy, cx + ox  # another tile's core holds the other cells
                result: np.ndarray = (gy >= 0) & (gy < ch) & (gx >= 0) & (gx < cw)
                return result

            boxes = ndi.find_objects(tile_labels)
            for label, cell in measure_labels(tile_labels, raw, (ty0, tx0), in_core):
                bx0, by0, bx1, by1 = cell["bbox"]
                if params.exclude_border and (by0 == 0 or bx0 == 0 or by1 == h or bx1 == w):
                    continue
                box = boxes[label - 1]
                assert box is not None
                target = labels[by0:by1, bx0:bx1]
                free = (tile_labels[box] == label) & (target == 0)
                cell_id = len(cells) + 1
                target[free] = cell_id
                cells.append({"id": cell_id, **cell})
            done += 1
            progress(5 + 90 * done // total, f"segmenting tile {done}/{total}")
    return Segmentation(labels=labels, cells=cells, diameter=diameter)
