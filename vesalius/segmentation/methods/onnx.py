"""ONNX methods: one folder per model under ``VESALIUS_MODELS_DIR``.

A folder holds ``model.onnx`` and ``model.json`` (see docs/segmentation-models.md). The
network only maps pixels to a map (foreground probability, boundary, or distance); the
labels come from the same seeded watershed as every method (``postprocess``). A folder
whose description is wrong is listed as unavailable with the reason, never raised: one bad
model must not take the model list (or a running job) down with it.
"""

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

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

KINDS = ("foreground", "boundary", "distance")


class ModelSpecError(ValueError):
    """``model.json`` says something this code cannot honour; the message says what."""


@dataclass(frozen=True)
class ModelSpec:
    title: str
    description: str
    tile: int  # square input tile in pixels
    overlap: int  # pixels of context on each side of a tile's kept core
    normalisation: str  # "percentile" | "minmax" | "none"
    low: float  # percentiles for "percentile"
    high: float
    output: str  # one of KINDS
    foreground_channel: int
    boundary_channel: int | None
    defaults: Mapping[str, Any]


def _number(doc: Mapping[str, Any], key: str, default: float, lo: float, hi: float) -> float:
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise ModelSpecError(f"{key} must be a number from {lo} to {hi}")
    return float(value)


def parse_spec(doc: Any) -> ModelSpec:
    if not isinstance(doc, dict):
        raise ModelSpecError("model.json must hold an object")
    inp = doc.get("input", {})
    norm = doc.get("normalisation", {})
    out = doc.get("output", {})
    post = doc.get("postprocess", {})
    for name, part in (("input", inp), ("normalisation", norm), ("output", out)):
        if not isinstance(part, dict):
            raise ModelSpecError(f"{name} must be an object")
    if not isinstance(post, dict):
        raise ModelSpecError("postprocess must be an object")
    tile = int(_number(inp, "tile", 256, 16, 4096))
    overlap = int(_number(inp, "overlap", 32, 0, tile // 2 - 1))
    kind = norm.get("kind", "percentile")
    if kind not in ("percentile", "minmax", "none"):
        raise ModelSpecError("normalisation.kind must be percentile, minmax or none")
    low = _number(norm, "low", 1.0, 0, 100)
    high = _number(norm, "high", 99.8, 0, 100)
    if low >= high:
        raise ModelSpecError("normalisation.low must be below normalisation.high")
    output = out.get("kind", "foreground")
    if output not in KINDS:
        raise ModelSpecError(f"output.kind must be one of {', '.join(KINDS)}")
    channel = int(_number(out, "channel", 0, 0, 63))
    boundary = out.get("boundary_channel")
    if output == "boundary":
        boundary = int(_number(out, "boundary_channel", 1, 0, 63))
    elif boundary is not None:
        raise ModelSpecError("output.boundary_channel only goes with output.kind boundary")
    try:
        defaults = parse_declared(post, PARAMS)
    except UnprocessableEntity as exc:
        raise ModelSpecError(f"postprocess: {exc}") from exc
    title = doc.get("title")
    description = doc.get("description", "")
    if (title is not None and not isinstance(title, str)) or not isinstance(description, str):
        raise ModelSpecError("title and description must be text")
    return ModelSpec(
        title=title or "",
        description=description,
        tile=tile,
        overlap=overlap,
        normalisation=kind,
        low=low,
        high=high,
        output=output,
        foreground_channel=channel,
        boundary_channel=boundary,
        defaults=defaults,
    )


def normalise(image: np.ndarray, spec: ModelSpec) -> np.ndarray:
    data = image.astype(np.float32)
    if spec.normalisation == "none":
        return data
    if spec.normalisation == "minmax":
        lo, hi = float(data.min()), float(data.max())
    else:
        lo, hi = (float(v) for v in np.percentile(data[::2, ::2], (spec.low, spec.high)))
    return (data - lo) / max(hi - lo, 1e-6)


def predict_tiled(
    session: Any, image: np.ndarray, spec: ModelSpec, progress: Progress
) -> np.ndarray:
    """The network's (channels, H, W) output, tile by tile. Each tile sees ``overlap``
    pixels of context on every side and only its core is kept, so a cell on a tile edge is
    predicted as if the image were whole (the edges of the image are mirrored)."""
    tile, overlap = spec.tile, spec.overlap
    core = tile - 2 * overlap
    h, w = image.shape
    ny, nx = math.ceil(h / core), math.ceil(w / core)
    padded = np.pad(
        image,
        ((overlap, ny * core - h + overlap), (overlap, nx * core - w + overlap)),
        mode="symmetric",
    )
    name = session.get_inputs()[0].name
    result: np.ndarray | None = None
    for i in range(ny):
        for j in range(nx):
            window = padded[i * core : i * core + tile, j * core : j * core + tile]
            out = session.run(None, {name: window[None, None].astype(np.float32)})[0]
            out = np.asarray(out, np.float32)
            if out.ndim != 4 or out.shape[0] != 1 or out.shape[2:] != (tile, tile):
                raise UnprocessableEntity(
                    f"the model's output has shape {out.shape}, not (1, C, {tile}, {tile})",
                    code="model_unavailable",
                )
            if result is None:
                result = np.zeros((out.shape[1], ny * core, nx * core), np.float32)
            result[:, i * core : (i + 1) * core, j * core : (j + 1) * core] = out[
                0, :, overlap : overlap + core, overlap : overlap + core
            ]
            done = i * nx + j + 1
            progress(5 + 75 * done // (ny * nx), f"running the model on tile {done}/{ny * nx}")
    assert result is not None
    return result[:, :h, :w]


_sessions: dict[tuple[str, float], Any] = {}


def _session(path: Path) -> Any:
    """One inference session per model file version (building one parses the graph)."""
    import onnxruntime

    key = (str(path), path.stat().st_mtime)
    if key not in _sessions:
        options = onnxruntime.SessionOptions()
        # Jobs run side by side on shared cores: one thread each keeps them from fighting.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        _sessions[key] = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
    return _sessions[key]


class OnnxMethod:
    def __init__(self, folder: Path, spec: ModelSpec | None, reason: str | None) -> None:
        self.folder = folder
        self.spec = spec
        params = dict(PARAMS)
        if spec is not None:  # the folder's defaults show in the form
            params = {k: {**v, "default": spec.defaults[k]} for k, v in PARAMS.items()}
        self.info = MethodInfo(
            name=f"onnx:{folder.name}",
            kind="onnx",
            title=(spec.title if spec and spec.title else folder.name),
            description=(spec.description if spec else ""),
            params=params,
            available=reason is None,
            reason=reason,
        )

    def parse_params(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        return parse_declared(raw, self.info.params)

    def run(self, image: np.ndarray, params: Any, progress: Progress) -> Segmentation:
        if self.spec is None:
            raise UnprocessableEntity(
                f"model {self.info.name} is unavailable: {self.info.reason}",
                code="model_unavailable",
            )
        if image.ndim != 2:
            raise ValueError("segment expects one channel (a 2-D array)")
        spec = self.spec
        progress(2, "loading the model")
        session = _session(self.folder / "model.onnx")
        maps = predict_tiled(session, normalise(image, spec), spec, progress)
        needed = max(spec.foreground_channel, spec.boundary_channel or 0) + 1
        if maps.shape[0] < needed:
            raise UnprocessableEntity(
                f"the model gives {maps.shape[0]} channels; model.json needs {needed}",
                code="model_unavailable",
            )
        progress(85, "splitting cells")
        main = maps[spec.foreground_channel]
        result = labels_from_maps(
            image,
            main,
            boundary=maps[spec.boundary_channel] if spec.boundary_channel is not None else None,
            distance=main if spec.output == "distance" else None,
            **params,
        )
        progress(100, "done")
        return result


def load_folder(folder: Path) -> OnnxMethod:
    """The method a model folder describes, or an unavailable one saying why."""
    try:
        if not (folder / "model.onnx").is_file():
            raise ModelSpecError("model.onnx is missing")
        try:
            doc = json.loads((folder / "model.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelSpecError("model.json is missing") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ModelSpecError(f"model.json is not valid JSON ({exc})") from None
        spec = parse_spec(doc)
        try:
            _session(folder / "model.onnx")
        except Exception as exc:  # onnxruntime raises its own, unexported error types
            raise ModelSpecError(f"model.onnx cannot be loaded ({exc})") from None
    except (ModelSpecError, OSError) as exc:
        return OnnxMethod(folder, None, str(exc))
    return OnnxMethod(folder, spec, None)


class _ModelsFolder:
    def methods(self, settings: Any, scope: Mapping[str, Any]) -> list[Method]:
        root = getattr(settings, "models_dir", None)
        if root is None or not Path(root).is_dir():
            return []
        folders = sorted(p for p in Path(root).iterdir() if p.is_dir())
        return [load_folder(p) for p in folders if not p.name.startswith(".")]


register_source(_ModelsFolder())
