"""``python -m bench`` runs every bench; ``python -m bench users_list`` runs one.

Exit status 1 when a target is missed, so ``make bench`` fails loudly.
"""

import argparse
import importlib
import sys
from collections.abc import Callable
from typing import cast

from bench.common import Report, RunOptions, console, load_average

BUSY_LOAD = 0.5
# Name → module; each module has ``run(options) -> Report``.
BENCHES = {
    "users_list": "bench.users_list",
    "login": "bench.login",
    "conversion": "bench.conversion",
    "gallery": "bench.gallery",
    "upload": "bench.upload",
    "analytics": "bench.analytics",
    "ingest": "bench.ingest",
    "studies": "bench.studies",
    "events": "bench.events",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names",
        nargs="*",
        choices=[[], *BENCHES],
        metavar="NAME",
        help=f"benches to run (default: all): {', '.join(BENCHES)}",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="less data and fewer samples, to try a change; docs are not written",
    )
    parser.add_argument(
        "--no-docs", action="store_true", help="print only; leave docs/benchmarks.md alone"
    )
    args = parser.parse_args(argv)
    options = RunOptions(quick=args.quick)
    load = load_average()
    if load > BUSY_LOAD:
        console.print(
            f"[yellow]1-min load average is {load:.2f}: something else is using the CPU, "
            "so the figures will be pessimistic (and say so in the docs).[/]"
        )
    failed: list[str] = []
    for name in args.names or list(BENCHES):
        module = importlib.import_module(BENCHES[name])
        run = cast(Callable[[RunOptions], Report], module.run)
        report = run(options)
        if not (args.quick or args.no_docs):
            report.save()
        failed += [f"{name}: {label}" for label in report.failed]
    if failed:
        console.print("\n[bold red]Missed targets:[/]")
        for label in failed:
            console.print(f"  {label}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
