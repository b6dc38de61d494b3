"""The built-in ``classical`` method: the scikit-image pipeline of ``segmentation.classical``."""

import dataclasses
import typing
from collections.abc import Mapping
from typing import Any

import numpy as np

from vesalius.segmentation import classical
from vesalius.segmentation.methods import (
    Method,
    MethodInfo,
    Progress,
    Segmentation,
    invalid_params,
    register_source,
)

PARAMS: dict[str, dict[str, Any]] = {
    "diameter": {
        "type": "number",
        "default": None,
        "min": 3,
        "max": 500,
        "description": "Expected cell diameter in pixels; empty: estimated from the image.",
    },
    "threshold": {
        "type": "string",
        "default": "li",
        "enum": list(typing.get_args(classical.ThresholdMethod)),
        "description": "How foreground is told from background.",
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
    "max_area": {
        "type": "integer",
        "default": None,
        "min": 1,
        "max": 100_000_000,
        "description": "Largest cell kept, in pixels; empty: no limit.",
    },
    "exclude_border": {
        "type": "boolean",
        "default": False,
        "description": "Drop cells that touch the image edge.",
    },
    "background_correction": {
        "type": "boolean",
        "default": True,
        "description": "Flatten uneven illumination before thresholding.",
    },
}


def parse_declared(
    raw: Mapping[str, Any], declared: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """Check ``raw`` against a ``MethodInfo.params`` declaration; defaults filled in.
    Shared by every method whose parameters are declared this way."""
    unknown = set(raw) - set(declared)
    if unknown:
        name = sorted(unknown)[0]
        raise invalid_params(name, f"unknown parameter (known: {', '.join(declared)})")
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        value = raw.get(name, spec.get("default"))
        if value is not None:
            value = _checked(name, value, spec)
        values[name] = value
    return values


def _checked(name: str, value: Any, spec: Mapping[str, Any]) -> Any:
    kind = spec["type"]
    if kind == "boolean":
        if not isinstance(value, bool):
            raise invalid_params(name, "must be true or false")
        return value
    if kind == "string":
        if not isinstance(value, str) or ("enum" in spec and value not in spec["enum"]):
            raise invalid_params(name, f"must be one of {', '.join(spec.get('enum', []))}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid_params(name, "must be a number")
    if kind == "integer" and value != int(value):
        raise invalid_params(name, "must be a whole number")
    if "min" in spec and value < spec["min"]:
        raise invalid_params(name, f"must be at least {spec['min']}")
    if "max" in spec and value > spec["max"]:
        raise invalid_params(name, f"must be at most {spec['max']}")
    return int(value) if kind == "integer" else float(value)


class ClassicalMethod:
    info = MethodInfo(
        name="classical",
        kind="classical",
        title="Classical (nuclei)",
        description=(
            "Background correction, automatic threshold, distance transform with h-maxima "
            "seeds and a watershed that splits touching nuclei. Needs no model file."
        ),
        params=PARAMS,
    )

    def parse_params(self, raw: Mapping[str, Any]) -> classical.ClassicalParams:
        return classical.ClassicalParams(**parse_declared(raw, PARAMS))

    def run(self, image: np.ndarray, params: Any, progress: Progress) -> Segmentation:
        assert isinstance(params, classical.ClassicalParams)
        return classical.segment(image, params, progress=progress)


class _BuiltIn:
    def methods(self, settings: Any, scope: Mapping[str, Any]) -> list[Method]:
        return [ClassicalMethod()]


register_source(_BuiltIn())

assert {f.name for f in dataclasses.fields(classical.ClassicalParams)} == set(PARAMS)
