"""Start real servers (PostgreSQL, Redis, …) on 127.0.0.1 in temporary directories.

A missing binary skips the tests that need it, with the reason, unless
VESALIUS_REQUIRE_SERVICES=1 (set by .ci/run after installing them): then it fails.
"""

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REQUIRE_SERVICES = os.environ.get("VESALIUS_REQUIRE_SERVICES") == "1"


def missing_service(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (VESALIUS_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=0.5),
        ):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout}s")


def find_binary(name: str, *patterns: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for pattern in patterns:
        matches = sorted(Path("/").glob(pattern.lstrip("/")))
        if matches:
            return str(matches[-1])
    return None


# -- PostgreSQL ------------------------------------------------------------------------------
@dataclass
class PostgresServer:
    host: str
    port: int
    user: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"


def _as_postgres(cmd: list[str]) -> list[str]:
    # pg_ctl and initdb refuse to run as root.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextlib.contextmanager
def postgres_server(base: Path) -> Iterator[PostgresServer]:
    pg_ctl = find_binary("pg_ctl", "/usr/lib/postgresql/*/bin/pg_ctl")
    if pg_ctl is None:
        missing_service("PostgreSQL (pg_ctl) is not installed")
    assert pg_ctl is not None
    bindir = Path(pg_ctl).resolve().parent
    base.mkdir(parents=True, exist_ok=True)
    data, sockets = base / "data", base / "sock"
    sockets.mkdir()
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        for path in (base, sockets):
            os.chown(path, owner.pw_uid, owner.pw_gid)
        base.chmod(0o755)
        # Every parent must be searchable by the postgres user.
        for parent in base.parents:
            if parent == Path("/"):
                break
            parent.chmod(parent.stat().st_mode | 0o011)
    subprocess.run(
        _as_postgres(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ]
        ),
        check=True,
        capture_output=True,
    )
    port = free_port()
    options = (
        f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    subprocess.run(
        _as_postgres(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(base / "postgres.log"),
                "-w",
                "-t",
                "60",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield PostgresServer(host="127.0.0.1", port=port, user="postgres")
    finally:
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            check=False,
            capture_output=True,
        )


# -- Redis ---------------------------------------------------------------------------------
@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@contextlib.contextmanager
def redis_server(base: Path) -> Iterator[RedisServer]:
    binary = find_binary("redis-server")
    if binary is None:
        missing_service("Redis (redis-server) is not installed")
    assert binary is not None
    base.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(base),
            "--protected-mode",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, proc=proc)
        yield RedisServer(port=port, process=proc)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# -- S3 (moto's server over HTTP) ------------------------------------------------------------
@dataclass
class S3Server:
    endpoint: str
    process: subprocess.Popen[bytes]
    access_key: str = "testing"
    secret_key: str = "testing"  # moto accepts any credentials

    def create_bucket(self, name: str) -> None:
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )
        client.create_bucket(Bucket=name)
        client.close()


@contextlib.contextmanager
def s3_server() -> Iterator[S3Server]:
    import sys

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, proc=proc)
        yield S3Server(endpoint=f"http://127.0.0.1:{port}", process=proc)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# -- Orthanc (Debian's orthanc + orthanc-dicomweb): a real PACS peer -------------------------
ORTHANC_DICOMWEB_PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"


@dataclass
class OrthancServer:
    """One Orthanc: REST + DICOMweb on ``http_port``, DIMSE on ``dicom_port``.

    ``modalities`` are the DICOM peers it knows (``{"VESALIUS": ["VESALIUS", "127.0.0.1",
    11112]}``), so tests can ask it to C-STORE to us or accept our C-MOVE destinations.
    """

    http_port: int
    dicom_port: int
    aet: str
    process: subprocess.Popen[bytes]
    storage: Path
    username: str = "orthanc"
    password: str = "orthanc-test-password"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb_url(self) -> str:
        return f"{self.url}/dicom-web"

    @property
    def auth(self) -> tuple[str, str]:
        return (self.username, self.password)


@contextlib.contextmanager
def orthanc_server(
    base: Path,
    *,
    aet: str = "ORTHANC",
    modalities: dict[str, list[object]] | None = None,
    dicomweb_servers: dict[str, object] | None = None,
    extra: dict[str, object] | None = None,
) -> Iterator[OrthancServer]:
    """Start Orthanc with its default SQLite index in ``base`` (the configuration Orthanc
    ships with), the DICOMweb plugin, and HTTP basic authentication."""
    import json

    binary = find_binary("Orthanc", "/usr/sbin/Orthanc")
    if binary is None:
        missing_service("Orthanc is not installed (Debian packages orthanc, orthanc-dicomweb)")
    assert binary is not None
    plugins = [ORTHANC_DICOMWEB_PLUGIN] if Path(ORTHANC_DICOMWEB_PLUGIN).exists() else []
    if not plugins:
        missing_service("Orthanc's DICOMweb plugin is not installed (orthanc-dicomweb)")
    base.mkdir(parents=True, exist_ok=True)
    storage = base / "storage"
    http_port, dicom_port = free_port(), free_port()
    server = OrthancServer(
        http_port=http_port,
        dicom_port=dicom_port,
        aet=aet,
        process=None,  # type: ignore[arg-type]
        storage=storage,
    )
    config: dict[str, object] = {
        "Name": aet,
        "StorageDirectory": str(storage),
        "IndexDirectory": str(storage),
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "DicomAet": aet,
        "RemoteAccessAllowed": True,
        "AuthenticationEnabled": True,
        "RegisteredUsers": {server.username: server.password},
        "DicomModalities": modalities or {},
        "DicomCheckCalledAet": False,
        "UnknownSopClassAccepted": True,
        "Plugins": plugins,
        "DicomWeb": {
            "Enable": True,
            "Root": "/dicom-web/",
            "EnableWado": True,
            "Servers": dicomweb_servers or {},
        },
        "StableAge": 1,
        "HttpTimeout": 60,
        "StorageCompression": False,
        "LogExportedResources": False,
    }
    config.update(extra or {})
    config_path = base / "orthanc.json"
    config_path.write_text(json.dumps(config, indent=2))
    log = (base / "orthanc.log").open("wb")
    proc = subprocess.Popen([binary, str(config_path)], stdout=log, stderr=subprocess.STDOUT)
    server.process = proc
    try:
        wait_for_port(http_port, timeout=60, proc=proc)
        wait_for_port(dicom_port, timeout=30, proc=proc)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
