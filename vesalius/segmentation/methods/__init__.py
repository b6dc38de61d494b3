"""Segmentation methods ("models" in the API) behind one small interface.

A method turns one 2-D single-channel image into labelled cells. The domain (projects,
jobs, results) only talks to this interface, so adding a method never touches it:
``classical`` needs nothing; ONNX methods come from folders under ``VESALIUS_MODELS_DIR``;
``trainable`` methods are random forests a project trained (their bytes are handed in).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from vesalius.common.errors import NotFound, UnprocessableEntity
from vesalius.segmentation.classical import Progress, Segmentation

__all__ = [
    "Method",
    "MethodInfo",
    "Progress",
    "Segmentation",
    "find_method",
    "invalid_params",
    "list_methods",
    "register_source",
]


@dataclass(frozen=True)
class MethodInfo:
    """What ``GET /api/segmentation/models`` lists for one method."""

    name: str  # stable id used in requests: "classical", "onnx:<folder>", "trainable:<id>"
    kind: str  # "classical" | "onnx" | "trainable"
    title: str
    description: str
    # JSON-schema-like description of each parameter: {name: {type, default, min, max,
    # enum, description}}; the UI builds its form from it.
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # A method that is listed but cannot run (e.g. a model folder with a bad model.json):
    # ``reason`` says why; running it is a 422 ``model_unavailable``.
    available: bool = True
    reason: str | None = None


class Method(Protocol):
    info: MethodInfo

    def parse_params(self, raw: Mapping[str, Any]) -> Any:
        """Validated parameters; raises ``invalid_params`` (422) naming the bad field."""

    def run(self, image: np.ndarray, params: Any, progress: Progress) -> Segmentation:
        """Segment ``image`` (2-D, any dtype); ``progress(percent, stage)`` as it goes."""


class MethodSource(Protocol):
    """Where methods come from (built-in, a models folder, a project's trained models)."""

    def methods(self, settings: Any, scope: Mapping[str, Any]) -> list[Method]: ...


_sources: list[MethodSource] = []


def register_source(source: MethodSource) -> None:
    _sources.append(source)


def list_methods(settings: Any, scope: Mapping[str, Any] | None = None) -> list[Method]:
    """Every method available to ``scope`` (e.g. ``{"project_id": 3}`` adds the methods that
    project trained). ``classical`` is first: it is the default."""
    found: list[Method] = []
    for source in _sources:
        found.extend(source.methods(settings, scope or {}))
    return found


def find_method(settings: Any, name: str, scope: Mapping[str, Any] | None = None) -> Method:
    for method in list_methods(settings, scope):
        if method.info.name == name:
            return method
    raise NotFound(f"no segmentation model named {name!r}", code="unknown_model")


def invalid_params(field_name: str, message: str) -> UnprocessableEntity:
    return UnprocessableEntity(
        f"params.{field_name}: {message}",
        code="invalid_params",
        details={"field": field_name},
    )


# Each source registers itself on import (classical first: it is the default).
from vesalius.segmentation.methods import classical as _classical  # noqa: E402, F401
from vesalius.segmentation.methods import onnx as _onnx  # noqa: E402, F401
from vesalius.segmentation.methods import trainable as _trainable  # noqa: E402, F401
