"""What every bench shares: timing, percentiles, the machine, tables, and docs sections.

A bench builds a ``Report``: each heading, table and code block is printed to the terminal
as it is added and also kept as Markdown, which ``Report.save`` writes between the bench's
markers in ``docs/benchmarks.md`` (re-running a bench replaces only its own section).
"""

import gc
import math
import os
import platform
import re
import sqlite3
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table as RichTable

REPO = Path(__file__).resolve().parent.parent
DOCS_FILE = REPO / "docs" / "benchmarks.md"
NS_PER_MS = 1_000_000

console = Console(highlight=False)
if not console.is_terminal:  # piped to a file or CI log: don't squeeze tables into 80 columns
    console = Console(highlight=False, width=140)


@dataclass(frozen=True)
class RunOptions:
    quick: bool = False  # less data, fewer samples: for trying a change; never written to docs


# -- timing ---------------------------------------------------------------------------------
def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Linear interpolation between closest ranks (numpy's default method)."""
    if not sorted_values:
        return math.nan
    rank = (len(sorted_values) - 1) * pct / 100
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


@dataclass(frozen=True)
class Stats:
    """Latencies of one case, in milliseconds, sorted."""

    samples_ms: tuple[float, ...]

    @classmethod
    def from_ns(cls, samples_ns: Sequence[int]) -> "Stats":
        return cls(tuple(sorted(value / NS_PER_MS for value in samples_ns)))

    @property
    def n(self) -> int:
        return len(self.samples_ms)

    @property
    def p50(self) -> float:
        return percentile(self.samples_ms, 50)

    @property
    def p95(self) -> float:
        return percentile(self.samples_ms, 95)

    @property
    def p99(self) -> float:
        return percentile(self.samples_ms, 99)

    @property
    def min(self) -> float:
        return self.samples_ms[0] if self.samples_ms else math.nan


def time_once(fn: Callable[[], object]) -> int:
    """Nanoseconds one call of ``fn`` takes."""
    started = time.perf_counter_ns()
    fn()
    return time.perf_counter_ns() - started


class SelfTimed:
    """A case that reports its own duration in nanoseconds (a request timed by the server
    side of the in-process client) instead of being timed around the call."""

    def __init__(self, fn: Callable[[], int]) -> None:
        self.fn = fn

    def __call__(self) -> int:
        return self.fn()


def measure(
    cases: Mapping[str, Callable[[], object]], *, samples: int, warmup: int
) -> dict[str, Stats]:
    """Time every case ``samples`` times, round-robin.

    Interleaving the cases (rather than running one after the other) means a change of CPU
    clock or a noisy neighbour affects the case and its baseline alike.
    """
    for _ in range(warmup):
        for fn in cases.values():
            fn()
    gc.collect()
    timings: dict[str, list[int]] = {name: [] for name in cases}
    for _ in range(samples):
        for name, fn in cases.items():
            timings[name].append(fn() if isinstance(fn, SelfTimed) else time_once(fn))
    return {name: Stats.from_ns(values) for name, values in timings.items()}


def progress_bar(label: str) -> Progress:
    """A bar for a long step (seeding, filling a queue); gone from the terminal when done."""
    return Progress(
        f"[dim]{escape(label)}[/]",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


# -- formatting -----------------------------------------------------------------------------
def fmt_ms(value: float) -> str:
    if math.isnan(value):
        return "–"
    if value < 10:
        return f"{value:.2f}"
    if value < 100:
        return f"{value:.1f}"
    return f"{value:.0f}"


def fmt_ratio(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.2f}×"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# -- the machine ----------------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return math.nan


def _filesystem(path: Path) -> str:
    """Filesystem type holding ``path`` (SQLite and PostgreSQL timings depend on it)."""
    try:
        result = subprocess.run(
            ["df", "--output=fstype", str(path)], capture_output=True, text=True, check=True
        )
        return result.stdout.split()[-1]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "unknown"


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int
    ram_gib: float
    system: str
    python: str
    sqlite: str
    filesystem: str
    load_before: float
    postgresql: str | None = None

    def line(self) -> str:
        parts = [
            f"{self.cpu}, {self.cores} cores, {self.ram_gib:.0f} GiB RAM",
            self.system,
            f"Python {self.python}",
            f"SQLite {self.sqlite}",
        ]
        if self.postgresql:
            parts.append(f"PostgreSQL {self.postgresql}")
        parts.append(f"data on {self.filesystem}")
        parts.append(f"1-min load average {self.load_before:.2f} before the run")
        return "; ".join(parts)


def load_average() -> float:
    """One-minute load: above ~0.5 on this machine, something else is competing for it."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan


def describe_machine(workdir: Path, load_before: float, postgresql: str | None = None) -> Machine:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return Machine(
        cpu=_cpu_model(),
        cores=cores or 0,
        ram_gib=_ram_gib(),
        system=f"{platform.system()} {platform.release()}",
        python=platform.python_version(),
        sqlite=sqlite3.sqlite_version,
        filesystem=_filesystem(workdir),
        load_before=load_before,
        postgresql=postgresql,
    )


# -- tables and the report ------------------------------------------------------------------
@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    title: str = ""

    def add(self, *cells: str) -> None:
        self.rows.append(list(cells))

    def rich(self) -> RichTable:
        table = RichTable(title=self.title or None, title_justify="left")
        for index, column in enumerate(self.columns):
            table.add_column(column, justify="left" if index == 0 else "right")
        for row in self.rows:
            table.add_row(*(_styled(cell) for cell in row))
        return table

    def markdown(self) -> str:
        def line(cells: Sequence[str]) -> str:
            return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

        aligns = [":---" if index == 0 else "---:" for index in range(len(self.columns))]
        body = [line(self.columns), line(aligns)]
        body += [line([_bold_verdict(cell) for cell in row]) for row in self.rows]
        return "\n".join(body)


def _styled(cell: str) -> str:
    if cell == "PASS":
        return "[bold green]PASS[/]"
    if cell == "FAIL":
        return "[bold red]FAIL[/]"
    return escape(cell)


def _bold_verdict(cell: str) -> str:
    return f"**{cell}**" if cell in ("PASS", "FAIL") else cell


class Report:
    """Prints as it goes and keeps the Markdown for ``docs/benchmarks.md``."""

    def __init__(self, name: str, title: str) -> None:
        self.name = name
        self.blocks: list[str] = [f"## {title}"]
        self.failed: list[str] = []
        console.rule(f"[bold]{escape(title)}")

    def heading(self, text: str) -> None:
        self.blocks.append(f"### {text}")
        console.print(f"\n[bold]{escape(text)}[/]")

    def text(self, text: str) -> None:
        self.blocks.append(text)
        console.print(escape(text))

    def table(self, table: Table) -> None:
        if table.title:
            self.blocks.append(f"**{table.title}**")
        self.blocks.append(table.markdown())
        console.print(table.rich())

    def code(self, text: str, *, label: str = "") -> None:
        if label:
            self.blocks.append(label)
        self.blocks.append(f"```\n{text}\n```")
        if label:
            console.print(escape(label))
        console.print(escape(text), style="dim")

    def plans(self, database: str, plans: Sequence[tuple[str, str]]) -> None:
        """A heading and each captured statement's plan under its label."""
        self.heading(f"Query plans, {database}")
        for label, plan in plans:
            self.code(plan, label=f"{label}:")

    def check(self, label: str, ok: bool) -> str:
        """Remember a target's outcome; returns PASS or FAIL for a table cell."""
        if not ok:
            self.failed.append(label)
        return verdict(ok)

    def markdown(self) -> str:
        return "\n\n".join(self.blocks)

    def save(self, path: Path = DOCS_FILE) -> None:
        write_section(self.name, self.markdown(), path)
        console.print(f"\n[dim]written to {path.relative_to(REPO)} (section {self.name})[/]")


def write_section(name: str, body: str, path: Path = DOCS_FILE) -> None:
    """Replace the text between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``.

    A section that is not there yet is appended; the rest of the file is left alone.
    """
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _match: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
