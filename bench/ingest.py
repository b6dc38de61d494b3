"""Ingest side by side with Orthanc: the same DICOM files, 4 HTTP clients, interleaved.

Vesalius runs as a user runs it (``vesalius serve`` in embedded mode: SQLite, local files,
worker processes) and receives ``POST /api/upload``; Orthanc 1.x from the Debian package
(its default SQLite index) receives ``POST /instances``. Each server gets each file once.

Measured per server: accepted instances/s (until the last upload is answered), instances/s
until every image is ready (Vesalius: converted, preview and thumbnails written; Orthanc
keeps no derived files, so stored is ready), and the server's CPU time per instance (the
server process and its children, from ``/proc``). The machine is shared: read the ratios
and CPU figures, with the load average printed next to them, rather than the times.

Targets (issue 8): CT instances ready ≥ 1.0× Orthanc's store rate; CPU per CT instance
≤ 2× Orthanc's; mammograms ready in ≤ 1.0× Orthanc's store time.
"""

import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

from bench.common import (
    Report,
    RunOptions,
    Table,
    console,
    describe_machine,
    fmt_ratio,
    load_average,
    today,
)
from tests.imaging.dicom_factory import make_dicom
from tests.services import free_port, orthanc_server, wait_for_port

NAME = "ingest"
TITLE = "Ingest: Vesalius and Orthanc side by side"
CLIENTS = 4
ADMIN_EMAIL = "bench@bench.example"
ADMIN_PASSWORD = "bench-admin-password-1"
BIN_DIR = Path(sys.executable).parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Sizes:
    ct: int
    mammograms: int


FULL = Sizes(ct=400, mammograms=12)
QUICK = Sizes(ct=100, mammograms=3)


# -- files ------------------------------------------------------------------------------------
def ct_files(directory: Path, count: int) -> list[bytes]:
    rng = np.random.default_rng(11)
    y, x = np.mgrid[-1:1:128j, -1:1:128j]
    body = np.where(x**2 + y**2 < 0.8, 1040, 0)
    files = []
    for n in range(count):
        pixels = (body + rng.normal(0, 20, (128, 128))).clip(0, 4095).astype(np.uint16)
        path = make_dicom(
            directory / f"ct-{n:03}.dcm",
            rows=128,
            columns=128,
            bits_stored=12,
            pixels=pixels,
            modality="CT",
            laterality=None,
            view=None,
            body_part="CHEST",
            window=(40.0, 400.0),
        )
        files.append(path.read_bytes())
    return files


def mammogram_files(directory: Path, count: int) -> list[bytes]:
    rows, columns = 4096, 3328
    rng = np.random.default_rng(7)
    y = np.linspace(-1, 1, rows, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, columns, dtype=np.float32)[None, :]
    radius = np.sqrt((x / 0.75) ** 2 + (y / 0.92) ** 2)
    tissue = 900 + 2600 * np.sqrt(np.clip(1 - radius, 0, 1))
    files = []
    for n in range(count):
        noisy = tissue + rng.normal(0, 60, (rows, columns)).astype(np.float32)
        pixels = np.where(radius < 1, np.clip(noisy, 1, 4095), 0).astype(np.uint16)
        path = make_dicom(
            directory / f"mg-{n:02}.dcm", rows=rows, columns=columns, bits_stored=12, pixels=pixels
        )
        files.append(path.read_bytes())
        path.unlink()
    return files


# -- CPU of a server ----------------------------------------------------------------------------
def _cpu_of(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(p) for p in task.read_text().split()]
    return found


def tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its live children."""
    return _cpu_of(pid) + sum(tree_cpu(child) for child in _children(pid))


# -- the two servers ----------------------------------------------------------------------------
@dataclass
class Server:
    name: str
    pid: int
    send: Callable[[httpx.Client, bytes], None]
    ready_count: Callable[[], int]
    url: str = ""
    token: str = ""  # an administrator's access token (Vesalius)


def _cli(args: list[str], env: dict[str, str], cwd: Path, stdin: str = "") -> None:
    subprocess.run(
        [str(BIN_DIR / "vesalius"), *args],
        input=stdin,
        text=True,
        env=env,
        cwd=cwd,
        check=True,
        capture_output=True,
        timeout=300,
    )


def _worker_rows(database: Path) -> int:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        return int(db.execute("SELECT count(*) FROM job_workers").fetchone()[0])


@contextmanager
def vesalius_server(base: Path, **overrides: str) -> Iterator[Server]:
    data = base / "vesalius"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VESALIUS_")},
        "VESALIUS_DATA_DIR": str(data),
        "VESALIUS_LOG_LEVEL": "WARNING",
        "VESALIUS_ANALYTICS_ENABLED": "false",
        **overrides,
    }
    _cli(["init"], env, base)
    _cli(
        ["users", "create", ADMIN_EMAIL, "--role", "admin", "--name", "Bench", "--password-stdin"],
        env,
        base,
        ADMIN_PASSWORD + "\n",
    )
    port = free_port()
    with (base / "vesalius.log").open("wb") as log:
        process = subprocess.Popen(
            [str(BIN_DIR / "vesalius"), "serve"],
            env={**env, "VESALIUS_PORT": str(port)},
            cwd=base,
            stdout=log,
            stderr=log,
        )
    try:
        wait_for_port(port, timeout=60, proc=process)
        url = f"http://127.0.0.1:{port}"
        token = httpx.post(
            f"{url}/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        ).json()["accessToken"]
        headers = {"Authorization": f"Bearer {token}"}
        database = data / "vesalius.db"
        # The worker processes start after the web process answers: wait until each has
        # written its heartbeat row (it imports its codecs first), so no phase pays for that.
        expected = int(overrides.get("VESALIUS_WORKER_PROCESSES", min(4, os.cpu_count() or 1)))
        if "VESALIUS_DATABASE_URL" in overrides:
            expected = 0  # the heartbeat rows are read from the SQLite file only
        deadline = time.monotonic() + 60
        while expected and _worker_rows(database) < expected and time.monotonic() < deadline:
            time.sleep(0.1)

        def send(client: httpx.Client, data: bytes) -> None:
            answer = client.post(
                f"{url}/api/upload",
                files=[("files", ("instance.dcm", data, "application/dicom"))],
                headers=headers,
            )
            if answer.status_code != 202:
                raise RuntimeError(f"Vesalius refused an upload: {answer.text}")

        def ready() -> int:
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
                return int(
                    db.execute("SELECT count(*) FROM images WHERE status='ready'").fetchone()[0]
                )

        yield Server("Vesalius", process.pid, send, ready, url=url, token=token)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def orthanc(base: Path) -> Iterator[Server]:
    with orthanc_server(base / "orthanc") as server:
        stored = [0]
        lock = threading.Lock()

        def send(client: httpx.Client, data: bytes) -> None:
            answer = client.post(
                f"{server.url}/instances",
                content=data,
                headers={"Content-Type": "application/dicom"},
                auth=server.auth,
            )
            if answer.status_code != 200:
                raise RuntimeError(f"Orthanc refused an instance: {answer.text}")
            with lock:
                stored[0] += 1

        yield Server("Orthanc", server.process.pid, send, lambda: stored[0])


# -- one measured phase ---------------------------------------------------------------------
@dataclass(frozen=True)
class Phase:
    server: str
    files: int
    accepted_s: float
    ready_s: float
    cpu_s: float
    web_cpu_s: float  # of the server process alone (Vesalius: the web process)
    load: float

    @property
    def accepted_rate(self) -> float:
        return self.files / self.accepted_s

    @property
    def ready_rate(self) -> float:
        return self.files / self.ready_s

    @property
    def cpu_ms_per_file(self) -> float:
        return self.cpu_s * 1000 / self.files


def send_all(server: Server, files: list[bytes], label: str) -> Phase:
    before_ready = server.ready_count()
    cpu_before, web_before = tree_cpu(server.pid), _cpu_of(server.pid)
    local = threading.local()

    def one(data: bytes) -> None:
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=300)
        server.send(local.client, data)

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(one, files))
    accepted = time.perf_counter() - started
    while server.ready_count() - before_ready < len(files):
        time.sleep(0.02)
        if time.perf_counter() - started > 1800:
            raise RuntimeError(f"{server.name}: images not ready after 30 minutes")
    ready = time.perf_counter() - started
    cpu, web = tree_cpu(server.pid) - cpu_before, _cpu_of(server.pid) - web_before
    phase = Phase(server.name, len(files), accepted, ready, cpu, web, load_average())
    console.print(
        f"{label:>12} {server.name:>9}: accepted {phase.accepted_rate:7.1f}/s, "
        f"ready {phase.ready_rate:7.1f}/s ({ready:6.2f} s), CPU {phase.cpu_ms_per_file:7.1f} ms "
        f"per instance ({web * 1000 / len(files):.1f} ms of it in the web process), "
        f"load {phase.load:.1f}"
    )
    return phase


def run(options: RunOptions) -> Report:
    sizes = QUICK if options.quick else FULL
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="vesalius-bench-ingest-") as tmp:
        base = Path(tmp)
        with ExitStack() as servers:
            try:
                peer = servers.enter_context(orthanc(base))
            except BaseException as skipped:  # pytest's Skipped: Orthanc is not installed
                report = Report(NAME, TITLE)
                report.text(f"Not measured: {skipped}")
                return report
            console.print(f"generating {sizes.ct} CT instances and {sizes.mammograms} mammograms…")
            ct = ct_files(base, sizes.ct)
            mammograms = mammogram_files(base, sizes.mammograms)
            hub = servers.enter_context(vesalius_server(base))
            # Interleaved: each server goes first once.
            ct_orthanc = send_all(peer, ct, "CT")
            ct_vesalius = send_all(hub, ct, "CT")
            mg_vesalius = send_all(hub, mammograms, "mammograms")
            mg_orthanc = send_all(peer, mammograms, "mammograms")
        machine = describe_machine(base, load_before).line()
    return write_report(sizes, machine, ct_vesalius, ct_orthanc, mg_vesalius, mg_orthanc)


def write_report(
    sizes: Sizes, machine: str, ct_v: Phase, ct_o: Phase, mg_v: Phase, mg_o: Phase
) -> Report:
    report = Report(NAME, TITLE)
    report.text(f"Measured {today()}. {machine}")
    report.text(
        f"{sizes.ct} CT instances 128×128 and {sizes.mammograms} mammograms 3328×4096 (12-bit, "
        f"27 MB each), {CLIENTS} HTTP clients, one instance per request; Orthanc first for CT, "
        "Vesalius first for mammograms. Vesalius: `vesalius serve` embedded (SQLite, local "
        "files, default worker processes). Load average after each phase in the last column."
    )
    table = Table(["phase", "Vesalius", "Orthanc", "Vesalius / Orthanc", "target", "", "load"])
    table.add(
        "CT: accepted instances/s",
        f"{ct_v.accepted_rate:.1f}",
        f"{ct_o.accepted_rate:.1f}",
        fmt_ratio(ct_v.accepted_rate / ct_o.accepted_rate),
        "",
        "",
        f"{ct_v.load:.1f} / {ct_o.load:.1f}",
    )
    ready_ratio = ct_v.ready_rate / ct_o.ready_rate
    table.add(
        "CT: instances/s until ready",
        f"{ct_v.ready_rate:.1f}",
        f"{ct_o.ready_rate:.1f}",
        fmt_ratio(ready_ratio),
        "≥ 1.0×",
        report.check("CT ready rate ≥ 1.0× Orthanc's store rate", ready_ratio >= 1.0),
        f"{ct_v.load:.1f} / {ct_o.load:.1f}",
    )
    cpu_ratio = ct_v.cpu_ms_per_file / max(ct_o.cpu_ms_per_file, 1e-9)
    table.add(
        "CT: server CPU per instance",
        f"{ct_v.cpu_ms_per_file:.1f} ms ({ct_v.web_cpu_s * 1000 / ct_v.files:.1f} web)",
        f"{ct_o.cpu_ms_per_file:.1f} ms",
        fmt_ratio(cpu_ratio),
        "≤ 2.0×",
        report.check("CPU per CT instance ≤ 2× Orthanc's", cpu_ratio <= 2.0),
        f"{ct_v.load:.1f} / {ct_o.load:.1f}",
    )
    mg_ratio = mg_v.ready_s / mg_o.ready_s
    table.add(
        "mammograms: seconds until ready",
        f"{mg_v.ready_s:.2f}",
        f"{mg_o.ready_s:.2f}",
        fmt_ratio(mg_ratio),
        "≤ 1.0×",
        report.check("mammograms ready ≤ 1.0× Orthanc's store time", mg_ratio <= 1.0),
        f"{mg_v.load:.1f} / {mg_o.load:.1f}",
    )
    table.add(
        "mammograms: server CPU per instance",
        f"{mg_v.cpu_ms_per_file:.0f} ms",
        f"{mg_o.cpu_ms_per_file:.0f} ms",
        fmt_ratio(mg_v.cpu_ms_per_file / max(mg_o.cpu_ms_per_file, 1e-9)),
        "",
        "",
        f"{mg_v.load:.1f} / {mg_o.load:.1f}",
    )
    report.table(table)
    report.text(
        "Vesalius does more per instance than Orthanc: it also decodes the pixels, windows "
        "them, and writes a 1536 px PNG preview and two JPEG thumbnails; Orthanc stores the "
        "file and indexes its tags."
    )
    return report
