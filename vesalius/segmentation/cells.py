"""Cells from a label image: a simplified polygon and the per-cell features of each label.

Everything is computed on the label's bounding box (cropped), so the cost is proportional to
the cells' area, never to the image's.
"""

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import ndimage as ndi
from scipy.spatial import ConvexHull, QhullError
from skimage.measure import find_contours

FEATURES: tuple[str, ...] = (
    "area",
    "perimeter",
    "circularity",
    "eccentricity",
    "solidity",
    "majorAxis",
    "minorAxis",
    "orientation",
    "centroidX",
    "centroidY",
    "meanIntensity",
    "minIntensity",
    "maxIntensity",
)

# Polygon vertices may move at most this many pixels when the outline is simplified: well
# under a pixel, so the shape (and its area) survives while a 20-px nucleus keeps ~20 points.
SIMPLIFY_TOLERANCE = 0.6


def _outline(mask: np.ndarray) -> np.ndarray:
    """The longest sub-pixel outline (row, col) of a cropped mask padded by one pixel."""
    padded = np.pad(mask, 1).astype(np.float32)
    contours = find_contours(padded, 0.5)
    outline: np.ndarray = max(contours, key=len)
    return outline - 1.0


def simplify(ring: np.ndarray, tolerance: float) -> np.ndarray:
    """Douglas–Peucker on a closed ring (first vertex not repeated), iterative and vectorised
    per segment: skimage's ``approximate_polygon`` costs ~2 ms a cell in Python loops."""
    n = len(ring)
    if n <= 4:
        return ring
    # Split the ring at its first vertex and the vertex farthest from it.
    far = int(np.argmax(((ring - ring[0]) ** 2).sum(axis=1)))
    keep = np.zeros(n, bool)
    keep[0] = keep[far] = True
    stack = [(0, far), (far, n)]
    closed = np.vstack([ring, ring[:1]])
    while stack:
        start, end = stack.pop()
        if end - start < 2:
            continue
        a, b = closed[start], closed[end]
        pts = closed[start + 1 : end]
        ab = b - a
        length = float(np.hypot(ab[0], ab[1]))
        if length == 0:
            dist = np.hypot(pts[:, 0] - a[0], pts[:, 1] - a[1])
        else:
            dist = np.abs(ab[0] * (pts[:, 1] - a[1]) - ab[1] * (pts[:, 0] - a[0])) / length
        i = int(np.argmax(dist))
        if dist[i] > tolerance:
            mid = start + 1 + i
            keep[mid] = True
            stack.append((start, mid))
            stack.append((mid, end))
    return ring[keep]


def _polygon_area_perimeter(points: np.ndarray) -> tuple[float, float]:
    y, x = points[:, 0], points[:, 1]
    area = 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
    perimeter = float(np.hypot(np.diff(y, append=y[:1]), np.diff(x, append=x[:1])).sum())
    return area, perimeter


def _convex_hull_area(points: np.ndarray) -> float:
    try:
        return float(ConvexHull(points).volume)  # qhull: a 2-D hull's "volume" is its area
    except QhullError:
        return _convex_hull_area_chain(points)


def _convex_hull_area_chain(points: np.ndarray) -> float:
    """Monotone chain, for degenerate point sets qhull refuses (a line of pixels)."""
    pts = sorted({(float(p[1]), float(p[0])) for p in points})
    if len(pts) < 3:
        return 0.0

    def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[tuple[float, float]] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    hull = np.array(lower[:-1] + upper[:-1])
    return _polygon_area_perimeter(hull[:, ::-1])[0]


def cells_from_labels(labels: np.ndarray, intensity: np.ndarray) -> list[dict[str, Any]]:
    """Every label of ``labels`` as a cell, ids renumbered 1..n in label order."""
    return [
        {"id": index, **cell}
        for index, (_, cell) in enumerate(measure_labels(labels, intensity), start=1)
    ]


RAYS = 32
RAY_STEP = 0.5


def _ray_outlines(
    labels: np.ndarray, ids: np.ndarray, cy: np.ndarray, cx: np.ndarray, reach: np.ndarray
) -> np.ndarray:
    """Star-convex outlines (as StarDist describes nuclei): from each centroid, the distance
    along ``RAYS`` directions to the cell's edge, for many cells at once. ``reach`` bounds each
    cell's extent. Returns (n, RAYS, 2) row/col vertices; NaN where the centroid is not inside
    its own cell. Cells go in small batches so the sample arrays stay a few MiB."""
    h, w = labels.shape
    angles = np.linspace(0, 2 * np.pi, RAYS, endpoint=False, dtype=np.float32)
    sin, cos = np.sin(angles), np.cos(angles)
    out = np.full((len(ids), RAYS, 2), np.nan, np.float32)
    order = np.argsort(reach)  # similar sizes share a batch, so few samples are wasted
    for start in range(0, len(ids), 64):
        sl = order[start : start + 64]
        steps = np.arange(RAY_STEP, float(reach[sl].max()) + 1, RAY_STEP, dtype=np.float32)
        ys = cy[sl, None, None] + sin[None, :, None] * steps[None, None, :]
        xs = cx[sl, None, None] + cos[None, :, None] * steps[None, None, :]
        valid = (ys >= -0.5) & (ys < h - 0.5) & (xs >= -0.5) & (xs < w - 0.5)
        yi = np.clip(np.rint(ys), 0, h - 1).astype(np.int32)
        xi = np.clip(np.rint(xs), 0, w - 1).astype(np.int32)
        inside = labels[yi, xi] == ids[sl, None, None]
        inside &= valid
        first_out = np.argmin(inside, axis=2)  # every ray ends outside: reach > cell size
        radius = np.where(first_out > 0, steps[first_out] - RAY_STEP / 2, 0.0)
        # Sampling quantises each radius to half a pixel; a [1 2 1] average around the ring
        # removes that zigzag, which would otherwise inflate perimeters by ~3 %.
        radius = (np.roll(radius, 1, axis=1) + 2 * radius + np.roll(radius, -1, axis=1)) / 4
        ring = np.empty((len(sl), RAYS, 2), np.float32)
        ring[:, :, 0] = cy[sl, None] + sin[None, :] * radius
        ring[:, :, 1] = cx[sl, None] + cos[None, :] * radius
        centre_in = (
            labels[
                np.clip(np.rint(cy[sl]), 0, h - 1).astype(np.intp),
                np.clip(np.rint(cx[sl]), 0, w - 1).astype(np.intp),
            ]
            == ids[sl]
        )
        ring[~centre_in] = np.nan
        out[sl] = ring
    return out


def measure_labels(
    labels: np.ndarray,
    intensity: np.ndarray,
    origin: tuple[int, int] = (0, 0),
    keep: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> list[tuple[int, dict[str, Any]]]:
    """Features and polygons of every label of a (tile's) label image, vectorised over cells.

    ``keep(cy, cx)`` (tile coordinates) selects the cells to measure. Returns ``(label,
    cell)`` pairs. Cells that are not star-convex from their centroid (the ray outline misses
    more than a tenth of their area) get an exact traced outline instead.
    """
    flat = labels.ravel()
    fg = np.flatnonzero(flat)
    if fg.size == 0:
        return []
    lab = flat[fg]
    n = int(lab.max()) + 1
    width = labels.shape[1]
    rows = (fg // width).astype(np.float64)
    cols = (fg % width).astype(np.float64)
    values = intensity.ravel()[fg].astype(np.float64)
    area = np.bincount(lab, minlength=n).astype(np.float64)
    present = np.flatnonzero(area)
    present = present[present > 0]
    a = area[present]
    cy = np.bincount(lab, rows, n)[present] / a
    cx = np.bincount(lab, cols, n)[present] / a
    if keep is not None:
        chosen = keep(cy, cx)
        present, a, cy, cx = present[chosen], a[chosen], cy[chosen], cx[chosen]
    if present.size == 0:
        return []
    mu_yy = np.bincount(lab, rows * rows, n)[present] / a - cy * cy + 1 / 12
    mu_xx = np.bincount(lab, cols * cols, n)[present] / a - cx * cx + 1 / 12
    mu_xy = np.bincount(lab, rows * cols, n)[present] / a - cy * cx
    mean_i = np.bincount(lab, values, n)[present] / a
    order = np.argsort(lab, kind="stable")
    starts = np.searchsorted(lab[order], present)
    sorted_values = values[order]
    min_i = np.minimum.reduceat(sorted_values, starts) if starts.size else starts
    max_i = np.maximum.reduceat(sorted_values, starts) if starts.size else starts
    # reduceat runs to the next start; the last label's run ends at the array's end, and
    # labels between chosen ones are skipped because their pixels sort after ours: recompute
    # the runs' true ends so a skipped label's pixels never leak in.
    ends = np.searchsorted(lab[order], present, side="right")
    leaks = np.flatnonzero(np.append(starts[1:], len(order)) != ends)
    for i in leaks:
        run = sorted_values[starts[i] : ends[i]]
        min_i[i], max_i[i] = run.min(), run.max()
    boxes = ndi.find_objects(labels)
    common = np.sqrt(np.maximum(((mu_xx - mu_yy) / 2) ** 2 + mu_xy**2, 0.0))
    l1 = (mu_xx + mu_yy) / 2 + common
    l2 = np.maximum((mu_xx + mu_yy) / 2 - common, 0.0)
    reach = np.array(
        [
            max(b[0].stop - b[0].start, b[1].stop - b[1].start) + 1 if (b := boxes[i - 1]) else 1
            for i in present
        ],
        np.float32,
    )
    outlines = _ray_outlines(
        labels, present.astype(labels.dtype), cy.astype(np.float32), cx.astype(np.float32), reach
    )
    ring_y, ring_x = outlines[..., 0].astype(np.float64), outlines[..., 1].astype(np.float64)
    next_y, next_x = np.roll(ring_y, -1, axis=1), np.roll(ring_x, -1, axis=1)
    ring_areas = 0.5 * np.abs((ring_x * next_y - ring_y * next_x).sum(axis=1))
    ring_perimeters = np.hypot(next_y - ring_y, next_x - ring_x).sum(axis=1)
    star = np.abs(np.nan_to_num(ring_areas, nan=-1e9) - a) <= 0.12 * a + 2
    oy, ox = origin
    result = []
    for k, label in enumerate(present):
        box = boxes[label - 1]
        assert box is not None
        ring = outlines[k]
        poly_area, perimeter = float(ring_areas[k]), float(ring_perimeters[k])
        if not star[k]:
            traced = _outline(labels[box] == label) + np.array([box[0].start, box[1].start])
            _, perimeter = _polygon_area_perimeter(traced)
            ring = simplify(traced[:-1], SIMPLIFY_TOLERANCE)
            if len(ring) < 3:
                ring = traced[:-1]
            poly_area = _polygon_area_perimeter(ring)[0]
        hull = _convex_hull_area(ring)
        area_k = int(a[k])
        major, minor = 4 * math.sqrt(l1[k]), 4 * math.sqrt(l2[k])
        cell = {
            "polygon": np.round(ring[:, ::-1] + (ox, oy), 2).tolist(),
            "bbox": [box[1].start + ox, box[0].start + oy, box[1].stop + ox, box[0].stop + oy],
            "area": area_k,
            "perimeter": round(perimeter, 3),
            # From the outline's own area, so a disc's is 1 whatever its pixelation.
            "circularity": round(min(1.0, 4 * math.pi * poly_area / perimeter**2), 4)
            if perimeter > 0
            else 0.0,
            "eccentricity": round(math.sqrt(max(0.0, 1 - l2[k] / l1[k])), 4) if l1[k] > 0 else 0.0,
            "solidity": round(min(1.0, poly_area / hull), 4) if hull > 0 else 1.0,
            "majorAxis": round(major, 3),
            "minorAxis": round(minor, 3),
            "orientation": round(
                math.degrees(0.5 * math.atan2(-2 * mu_xy[k], mu_xx[k] - mu_yy[k])), 2
            ),
            "centroidX": round(float(cx[k]) + ox, 3),
            "centroidY": round(float(cy[k]) + oy, 3),
            "meanIntensity": round(float(mean_i[k]), 3),
            "minIntensity": float(min_i[k]),
            "maxIntensity": float(max_i[k]),
        }
        result.append((int(label), cell))
    return result
