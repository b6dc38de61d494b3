"""A hub in a process of its own (to kill it with SIGKILL, or to load it from another
process in a bench): ``python -m tests.events.hub_process PORT``, settings from the
environment (``VESALIUS_*``), API only (no web UI, no queue workers)."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


@dataclass
class HubProcess:
    process: "subprocess.Popen[bytes]"
    url: str

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used so far (Linux)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def hub_process(port: int, env: dict[str, str], log: Path) -> Iterator[HubProcess]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("VESALIUS_")}
    full_env.update(env)
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.events.hub_process", str(port)],
            cwd=REPO,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    hub = HubProcess(process, f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{hub.url}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the hub did not start; see {log}")
            time.sleep(0.1)
        yield hub
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def main() -> None:
    import uvicorn

    from vesalius.app import create_app
    from vesalius.config import load_settings

    settings = load_settings(embedded_workers=False)
    app = create_app(settings, with_ui=False, run_workers=False)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="warning",
        access_log=False,
        ws="websockets-sansio",
    )


if __name__ == "__main__":
    main()
