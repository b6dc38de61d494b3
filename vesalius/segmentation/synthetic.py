"""Synthetic fluorescence-nuclei images with a ground-truth label mask.

Used by the tests (cells with known positions) and by ``bench/segmentation.py`` (accuracy):
nuclei of varied size and shape, many touching, textured, blurred by the optics, on an uneven
background with shot and read noise. Deterministic for a given seed, so figures are
reproducible and nothing is downloaded.
"""

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi


@dataclass(frozen=True)
class SyntheticImage:
    image: np.ndarray  # uint8 or uint16, 2-D
    labels: np.ndarray  # int32 ground truth, 0 = background
    centres: np.ndarray  # (n, 2) float, row/col of each nucleus, index = label - 1


def nuclei_image(
    shape: tuple[int, int] = (512, 512),
    *,
    count: int | None = None,
    radius: tuple[float, float] = (7.0, 13.0),
    touching: float = 0.35,
    noise: float = 0.04,
    background: float = 0.25,
    bits: int = 8,
    seed: int = 0,
) -> SyntheticImage:
    """Elliptical nuclei; ``touching`` is the share placed against an existing nucleus."""
    rng = np.random.default_rng(seed)
    height, width = shape
    mean_r = (radius[0] + radius[1]) / 2
    if count is None:
        count = int(height * width / (np.pi * mean_r**2) * 0.28)
    labels = np.zeros(shape, np.int32)
    signal = np.zeros(shape, np.float32)
    centres: list[tuple[float, float]] = []
    radii: list[float] = []
    attempts = 0
    while len(centres) < count and attempts < count * 40:
        attempts += 1
        r = float(rng.uniform(*radius))
        if centres and rng.random() < touching:
            k = int(rng.integers(len(centres)))
            angle = rng.uniform(0, 2 * np.pi)
            gap = (radii[k] + r) * rng.uniform(0.78, 0.95)
            cy, cx = centres[k][0] + gap * np.sin(angle), centres[k][1] + gap * np.cos(angle)
        else:
            cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        if not (-r / 2 < cy < height + r / 2 and -r / 2 < cx < width + r / 2):
            continue
        if centres:
            d = np.hypot(np.array(centres)[:, 0] - cy, np.array(centres)[:, 1] - cx)
            if np.any(d < (np.array(radii) + r) * 0.78):
                continue
        aspect = rng.uniform(0.7, 1.0)
        theta = rng.uniform(0, np.pi)
        a, b = r / np.sqrt(aspect), r * np.sqrt(aspect)
        half = int(np.ceil(a)) + 2
        y0, y1 = max(0, int(cy) - half), min(height, int(cy) + half + 1)
        x0, x1 = max(0, int(cx) - half), min(width, int(cx) + half + 1)
        if y0 >= y1 or x0 >= x1:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        dy, dx = yy - cy, xx - cx
        u = dx * np.cos(theta) + dy * np.sin(theta)
        v = -dx * np.sin(theta) + dy * np.cos(theta)
        rho = (u / a) ** 2 + (v / b) ** 2
        inside = (rho <= 1.0) & (labels[y0:y1, x0:x1] == 0)
        if inside.sum() < 10:
            continue
        centres.append((cy, cx))
        radii.append(r)
        brightness = rng.uniform(0.45, 1.0)
        # Brighter towards the centre, as chromatin-stained nuclei are.
        profile = brightness * (1.0 - 0.35 * np.clip(rho, 0, 1))
        labels[y0:y1, x0:x1][inside] = len(centres)
        signal[y0:y1, x0:x1][inside] = profile[inside]
    texture = ndi.gaussian_filter(rng.normal(0, 1, shape).astype(np.float32), 1.5)
    signal *= 1.0 + 0.25 * texture / max(float(texture.std()), 1e-6)
    signal = ndi.gaussian_filter(signal, 1.2)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    uneven = background * (
        0.4
        + 0.6 * (xx / width) * (1 - 0.5 * yy / height)
        + 0.3
        * np.exp(
            -(
                ((xx - 0.3 * width) / (0.3 * width)) ** 2
                + ((yy - 0.6 * height) / (0.3 * height)) ** 2
            )
        )
    )
    photons = (signal + uneven) * 60
    observed = rng.poisson(np.clip(photons, 0, None)).astype(np.float32) / 60
    observed += rng.normal(0, noise, shape).astype(np.float32)
    top = (1 << bits) - 1
    scaled = np.clip(observed / max(float(observed.max()), 1e-6) * top * 0.9, 0, top)
    image = scaled.astype(np.uint8 if bits <= 8 else np.uint16)
    return SyntheticImage(image=image, labels=labels, centres=np.array(centres, float))
