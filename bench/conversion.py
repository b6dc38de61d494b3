"""DICOM → PNG conversion: throughput beside a plain-loop floor, and peak memory.

Issue 3: conversion throughput for a CT_small-sized image and a 3328×4096 16-bit
mammogram, within 1.3× of the floor measured in the same run; peak memory for a 4096×5120
16-bit image under 5× its raw pixel bytes.

The floor is the least a conversion can do with the same libraries: ``pydicom.dcmread`` +
``ds.pixel_array`` + a float32 numpy window + Pillow's PNG encoder at the same zlib level,
in a plain loop. Vesalius does more (file checks, the modality and VOI pipeline, the
automatic window when the file has none, MONOCHROME1, one frame read from disk), so the
ratio says what that costs. Peak memory is measured in a fresh Python process per case:
the rise of the RSS high-water mark (``getrusage``) over its value after imports and a
warm-up, which counts everything (numpy, Pillow's own buffers, codecs), and tracemalloc's
peak, which counts Python and numpy allocations only. The target applies to RSS.

Run ``python -m bench.conversion probe FILE MODE`` to see one memory measurement.
"""

import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image
from pydicom import dcmread
from pydicom.data import get_testdata_file

from bench.common import (
    REPO,
    Report,
    RunOptions,
    Stats,
    Table,
    console,
    describe_machine,
    fmt_ms,
    fmt_ratio,
    load_average,
    measure,
    today,
)
from tests.imaging.dicom_factory import make_dicom, mammogram_pixels
from vesalius.imaging.render import encode_png, make_thumbnail, render_dicom
from vesalius.imaging.render_output import PNG_COMPRESS_LEVEL

NAME = "conversion"
TITLE = "DICOM conversion"
RATIO_TARGET = 1.3
MEMORY_FACTOR = 5.0
MIB = 1024 * 1024
MAMMO_WINDOW = (2000.0, 2500.0)


@dataclass(frozen=True)
class Sizes:
    small_samples: int
    large_samples: int
    warmup: int


FULL = Sizes(small_samples=400, large_samples=15, warmup=3)
QUICK = Sizes(small_samples=40, large_samples=3, warmup=1)


# -- the floor --------------------------------------------------------------------------------
def floor_png(path: Path, window: tuple[float, float]) -> bytes:
    """pydicom decode + numpy window + Pillow PNG: the least a conversion can do."""
    ds = dcmread(path)
    pixels = ds.pixel_array.astype(np.float32)
    if "RescaleSlope" in ds:
        pixels = pixels * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    center, width = window
    scaled = np.clip((pixels - (center - width / 2)) * (255 / width), 0, 255).astype(np.uint8)
    return _png(scaled)


def _png(pixels: npt.NDArray[np.uint8], level: int = PNG_COMPRESS_LEVEL) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=level)
    return buffer.getvalue()


# -- images -----------------------------------------------------------------------------------
def ct_small() -> Path:
    path = get_testdata_file("CT_small.dcm", download=False)
    if path is None:
        raise RuntimeError("pydicom's CT_small.dcm is missing")
    return Path(str(path))


def mammogram(folder: Path, rows: int, columns: int, **options: object) -> Path:
    name = f"mg_{columns}x{rows}_{options.get('photometric', 'MONOCHROME2')}.dcm"
    return make_dicom(
        folder / name,
        rows=rows,
        columns=columns,
        bits=16,
        bits_stored=12,
        pixels=mammogram_pixels(rows, columns),
        **options,  # type: ignore[arg-type]
    )


def full_job(path: Path) -> None:
    """What the conversion worker does: preview PNG and the two thumbnails."""
    rendered = render_dicom(path)
    encode_png(rendered.pixels)
    make_thumbnail(rendered.pixels, 512)
    make_thumbnail(rendered.pixels, 256)


# -- memory, in a fresh process -----------------------------------------------------------------
def probe(path: Path, mode: str, traced: bool) -> dict[str, float]:
    """Convert ``path`` once (``mode`` ours or floor) and report the memory it took."""
    tiny = Path(tempfile.mkdtemp(prefix="vesalius-probe-")) / "tiny.dcm"
    make_dicom(tiny, rows=64, columns=64)

    def convert(target: Path) -> None:
        if mode == "ours":
            encode_png(render_dicom(target).pixels)
        else:
            floor_png(target, MAMMO_WINDOW)

    convert(tiny)  # imports, codec and plugin set-up: not part of one conversion
    before = _start_peak()
    if traced:
        tracemalloc.start()
    convert(path)
    peak = tracemalloc.get_traced_memory()[1] if traced else 0
    return {"rss_rise_mib": (_peak_kib() - before) / 1024, "tracemalloc_peak_mib": peak / MIB}


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _start_peak() -> int:
    """Reset the peak-RSS mark and return the current RSS (KiB).

    ``getrusage``'s ru_maxrss is useless in a child on Linux: execve keeps the parent's
    high-water mark (here, the bench process holding three mammograms). The process's own
    mark (VmHWM) can be reset to the current RSS by writing 5 to /proc/self/clear_refs.
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
        current = _status_kib("VmRSS")
        if current is not None:
            return current
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _peak_kib() -> int:
    peak = _status_kib("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure_memory(path: Path, mode: str) -> dict[str, float]:
    results: dict[str, float] = {}
    for traced in (False, True):
        output = subprocess.run(
            [sys.executable, "-m", "bench.conversion", "probe", str(path), mode]
            + (["--traced"] if traced else []),
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        figures = json.loads(output.stdout.strip().splitlines()[-1])
        key = "tracemalloc_peak_mib" if traced else "rss_rise_mib"
        results[key] = figures[key]
    return results


# -- the report -------------------------------------------------------------------------------
def run(options: RunOptions) -> Report:
    sizes = QUICK if options.quick else FULL
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="vesalius-bench-") as tmp:
        folder = Path(tmp)
        console.print("[dim]writing a 3328×4096 and a 4096×5120 16-bit mammogram[/]")
        mg = mammogram(folder, 4096, 3328, window=MAMMO_WINDOW)
        mg1 = mammogram(folder, 4096, 3328, photometric="MONOCHROME1")
        big = mammogram(folder, 5120, 4096, window=MAMMO_WINDOW)
        ct = ct_small()
        ct_window = (40.0, 400.0)
        small = measure(
            {
                "floor": lambda: floor_png(ct, ct_window),
                "ours, as the worker calls it (automatic window)": lambda: encode_png(
                    render_dicom(ct).pixels
                ),
                "ours, the floor's window": lambda: encode_png(
                    render_dicom(ct, window=ct_window).pixels
                ),
            },
            samples=sizes.small_samples,
            warmup=sizes.warmup * 10,
        )
        large = measure(
            {
                "floor": lambda: floor_png(mg, MAMMO_WINDOW),
                "ours (the file's window)": lambda: encode_png(render_dicom(mg).pixels),
                "ours, MONOCHROME1, automatic window": lambda: encode_png(render_dicom(mg1).pixels),
                "full job: preview PNG + 512 and 256 thumbnails": lambda: full_job(mg),
            },
            samples=sizes.large_samples,
            warmup=sizes.warmup,
        )
        preview = render_dicom(mg).pixels
        levels = (PNG_COMPRESS_LEVEL, 6, 9)
        png_times = measure(
            {str(level): lambda level=level: _png(preview, level) for level in levels},  # type: ignore[misc]
            samples=max(3, sizes.large_samples // 3),
            warmup=1,
        )
        png_sizes = {str(level): len(_png(preview, level)) for level in levels}
        console.print("[dim]peak memory, each in a fresh process[/]")
        memory = {mode: measure_memory(big, mode) for mode in ("ours", "floor")}
        machine = describe_machine(folder, load_before).line()
    return write_report(machine, sizes, small, large, memory, png_times, png_sizes)


def write_report(
    machine: str,
    sizes: Sizes,
    small: dict[str, Stats],
    large: dict[str, Stats],
    memory: dict[str, dict[str, float]],
    png_times: dict[str, Stats],
    png_sizes: dict[str, int],
) -> Report:
    report = Report(NAME, TITLE)
    report.text(
        f"Run {today()} on {machine}. `render_dicom` + `encode_png` (zlib level "
        f"{PNG_COMPRESS_LEVEL}) beside the floor: `dcmread` + `pixel_array` + a float32 numpy "
        "window + Pillow PNG at the same level, interleaved round-robin. Target (issue 3): "
        f"within {RATIO_TARGET}× of the floor; peak memory for 4096×5120 under "
        f"{MEMORY_FACTOR:.0f}× its raw pixel bytes."
    )
    for title, stats, samples, target_row in (
        (
            "CT_small.dcm (128×128, 16-bit, rescaled, no stored window)",
            small,
            sizes.small_samples,
            "ours, as the worker calls it (automatic window)",
        ),
        (
            "3328×4096 16-bit mammogram (12 bits stored, 27 MB file)",
            large,
            sizes.large_samples,
            "ours (the file's window)",
        ),
    ):
        report.table(_throughput_table(report, title, stats, samples, target_row))
    levels = Table(
        ["zlib level", "encode p50 ms", "PNG MiB", "time ÷ chosen", "size ÷ chosen"],
        title="The mammogram's preview PNG (3328×4096, 8-bit) at several zlib levels",
    )
    chosen = str(PNG_COMPRESS_LEVEL)
    for level, timing in png_times.items():
        levels.add(
            level + (" (chosen)" if level == chosen else ""),
            fmt_ms(timing.p50),
            f"{png_sizes[level] / MIB:.2f}",
            fmt_ratio(timing.p50 / png_times[chosen].p50),
            fmt_ratio(png_sizes[level] / png_sizes[chosen]),
        )
    report.table(levels)
    report.text(
        "Previews are written once and then cached, so encoding time matters more than a "
        "few hundred KiB: the higher levels buy little size for a lot of time."
    )
    raw = 4096 * 5120 * 2
    limit_mib = MEMORY_FACTOR * raw / MIB
    table = Table(
        [
            "4096×5120 16-bit (40 MiB raw)",
            "RSS rise MiB",
            "× raw",
            "tracemalloc peak MiB",
            "target",
            "result",
        ],
        title="Peak memory of one conversion (render + PNG), fresh process each",
    )
    for mode, label in (("ours", "ours"), ("floor", "floor (baseline)")):
        figures = memory[mode]
        rss = figures["rss_rise_mib"]
        is_ours = mode == "ours"
        table.add(
            label,
            f"{rss:.0f}",
            f"{rss * MIB / raw:.2f}×",
            f"{figures['tracemalloc_peak_mib']:.0f}",
            f"< {limit_mib:.0f} MiB RSS" if is_ours else "",
            report.check("peak memory under 5× raw", rss < limit_mib) if is_ours else "",
        )
    report.table(table)
    report.text(
        "RSS rise: the process's peak RSS during the conversion minus its RSS just before, "
        "after imports and a warm-up conversion of a 64×64 image, in a fresh process that "
        "does nothing else (the parent writes the image). It counts every allocation, "
        "Pillow's and the codecs' included, and is what the target uses. The peak is Linux's "
        "VmHWM, reset with /proc/self/clear_refs before the conversion: getrusage's ru_maxrss "
        "cannot be used in a child, because execve keeps the parent's high-water mark (it "
        "read 0 here). tracemalloc sees Python and numpy only (not Pillow's image buffers); "
        "it runs in a second process so its bookkeeping does not inflate the RSS figure. "
        "The RSS rise can come out below tracemalloc's peak: part of a conversion reuses heap "
        "pages that were already resident, which tracemalloc counts and RSS does not."
    )
    return report


def _throughput_table(
    report: Report, title: str, stats: dict[str, Stats], samples: int, target_row: str
) -> Table:
    table = Table(["case", "p50 ms", "p95 ms", "min ms", "÷ floor p50", "result"], title=title)
    floor = stats["floor"].p50
    for label, case in stats.items():
        ratio = case.p50 / floor
        result = ""
        if label == target_row:
            result = report.check(
                f"{title}: within {RATIO_TARGET}× of the floor", ratio <= RATIO_TARGET
            )
        table.add(
            label + (" (baseline)" if label == "floor" else ""),
            fmt_ms(case.p50),
            fmt_ms(case.p95),
            fmt_ms(case.min),
            fmt_ratio(ratio),
            result,
        )
    table.add(f"n = {samples} each", "", "", "", "", "")
    return table


def _main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "probe":
        figures = probe(Path(argv[1]), argv[2], traced="--traced" in argv)
        print(json.dumps(figures))  # the parent process reads this line
        return 0
    print("usage: python -m bench.conversion probe FILE ours|floor [--traced]")
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
