"""ONNX methods from a models folder, with a small network built in the test."""

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from vesalius.common.errors import UnprocessableEntity
from vesalius.config import Settings
from vesalius.segmentation.classical import segment
from vesalius.segmentation.methods import find_method, list_methods
from vesalius.segmentation.metrics import average_precision
from vesalius.segmentation.synthetic import nuclei_image


def _foreground_model(path: Path, *, centre: float = 0.3, gain: float = 12.0) -> None:
    """A fixed graph: 5x5 mean (denoise), then sigmoid(gain * (x - centre)): a foreground
    probability from normalised intensity, for any tile size."""
    kernel = numpy_helper.from_array(np.full((1, 1, 5, 5), 1 / 25, np.float32), "kernel")
    c = numpy_helper.from_array(np.array([centre], np.float32), "centre")
    g = numpy_helper.from_array(np.array([gain], np.float32), "gain")
    nodes = [
        helper.make_node("Conv", ["x", "kernel"], ["smooth"], pads=[2, 2, 2, 2]),
        helper.make_node("Sub", ["smooth", "centre"], ["shifted"]),
        helper.make_node("Mul", ["shifted", "gain"], ["scaled"]),
        helper.make_node("Sigmoid", ["scaled"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "foreground",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, "h", "w"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, "h", "w"])],
        [kernel, c, g],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _folder(root: Path, name: str, spec: object) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    _foreground_model(folder / "model.onnx")
    (folder / "model.json").write_text(json.dumps(spec))
    return folder


SPEC = {
    "title": "Test nuclei",
    "input": {"tile": 128, "overlap": 24},
    "normalisation": {"kind": "percentile", "low": 1, "high": 99.8},
    "output": {"kind": "foreground", "channel": 0},
}


def test_an_onnx_model_segments_generated_nuclei_end_to_end(tmp_path: Path) -> None:
    _folder(tmp_path, "nuclei", SPEC)
    settings = Settings(models_dir=tmp_path)
    method = find_method(settings, "onnx:nuclei")
    assert method.info.available and method.info.title == "Test nuclei"
    sample = nuclei_image((300, 340), seed=7)  # not a multiple of the tile: edges padded
    stages: list[str] = []
    result = method.run(
        sample.image, method.parse_params({}), lambda _p, stage: stages.append(stage)
    )
    truth = len(sample.centres)
    assert abs(len(result.cells) - truth) <= 0.2 * truth
    assert average_precision(sample.labels, result.labels)[0.5] >= 0.6
    assert int(result.labels.max()) == len(result.cells)
    assert any("tile" in s for s in stages)


def test_tiling_matches_one_big_tile(tmp_path: Path) -> None:
    _folder(tmp_path, "small", SPEC)
    _folder(tmp_path, "big", {**SPEC, "input": {"tile": 512, "overlap": 24}})
    settings = Settings(models_dir=tmp_path)
    sample = nuclei_image((300, 300), seed=8)
    small, big = (
        find_method(settings, f"onnx:{n}").run(
            sample.image,
            {"threshold": 0.5, "diameter": None, "split_sensitivity": 0.5, "min_area": None},
            lambda _p, _s: None,
        )
        for n in ("small", "big")
    )
    assert average_precision(big.labels, small.labels)[0.5] >= 0.97


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({**SPEC, "output": {"kind": "magic"}}), "output.kind"),
        (json.dumps({**SPEC, "input": {"tile": 64, "overlap": 40}}), "overlap"),
        (json.dumps([1, 2]), "must hold an object"),
    ],
)
def test_a_bad_model_json_is_listed_unavailable_with_a_reason(
    tmp_path: Path, content: str, reason: str
) -> None:
    folder = _folder(tmp_path, "broken", SPEC)
    (folder / "model.json").write_text(content)
    settings = Settings(models_dir=tmp_path)
    listed = {m.info.name: m for m in list_methods(settings)}
    assert "classical" in listed
    broken = listed["onnx:broken"]
    assert not broken.info.available
    assert broken.info.reason is not None and reason in broken.info.reason
    with pytest.raises(UnprocessableEntity) as caught:
        broken.run(np.zeros((32, 32), np.uint8), broken.parse_params({}), lambda _p, _s: None)
    assert caught.value.code == "model_unavailable"


def test_a_missing_or_corrupt_model_file_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    corrupt = _folder(tmp_path, "corrupt", SPEC)
    (corrupt / "model.onnx").write_bytes(b"not a model")
    listed = {m.info.name: m.info for m in list_methods(Settings(models_dir=tmp_path))}
    assert "model.onnx is missing" in (listed["onnx:empty"].reason or "")
    assert "cannot be loaded" in (listed["onnx:corrupt"].reason or "")


def test_no_models_dir_lists_only_the_built_in_methods() -> None:
    names = [m.info.name for m in list_methods(Settings(models_dir=None))]
    assert names[0] == "classical" and not any(n.startswith("onnx:") for n in names)


def test_the_onnx_method_is_about_as_good_as_classical(tmp_path: Path) -> None:
    _folder(tmp_path, "nuclei", SPEC)
    method = find_method(Settings(models_dir=tmp_path), "onnx:nuclei")
    sample = nuclei_image((256, 256), seed=9)
    onnx_ap = average_precision(
        sample.labels, method.run(sample.image, method.parse_params({}), lambda _p, _s: None).labels
    )[0.5]
    classical_ap = average_precision(sample.labels, segment(sample.image).labels)[0.5]
    assert onnx_ap >= classical_ap - 0.15
