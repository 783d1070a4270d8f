"""Shared fixtures: the Temporal servers (``tests/support/env.py``), a fresh store per test,
PostgreSQL when it answers."""

from __future__ import annotations

import os
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text
from temporalio.testing import WorkflowEnvironment

from claims.infra.settings import get_settings
from claims.store.db import Sessions, make_engine, make_sessionmaker, upgrade_database
from tests.support.browser import (  # noqa: F401 - Debian's Chromium and the console under uvicorn (browser tests)
    browser_context_args,
    browser_type_launch_args,
    console,
)
from tests.support.env import (  # noqa: F401 - BIN, REPO, TEST_PAYLOAD_KEYS, new_task_queue: test modules import them from here
    BIN,
    REPO,
    TEST_PAYLOAD_KEYS,
    dev_server,
    new_task_queue,
    time_skipping_server,
)
from tests.support.harness import harness  # noqa: F401 - the claim-workflow harness fixture, for every module

# The tests never read the working copy's calendar folder (where `claims calendar load` puts
# schedules): every test process and the commands it runs see an empty folder of their own.
os.environ["CLAIMS_CALENDAR_DIR"] = tempfile.mkdtemp(prefix="claims-test-calendar-")

PG_URL = os.environ.get("CLAIMS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    """Settings read afresh in every test: a test that changes the environment (monkeypatch)
    sees its own values, never a cached object of an earlier test."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


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
    """The time-skipping server the session's workflow tests share (they never skip time)."""
    async with time_skipping_server() as environment:
        yield environment


@pytest_asyncio.fixture(loop_scope="session")
async def skipping() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of this test's own: its ``sleep`` jumps move no other test's clock."""
    async with time_skipping_server() as environment:
        yield environment


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The dev server, one per test module: visibility queries and workflow deletion."""
    async with dev_server() as environment:
        yield environment


def _sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'claims.db'}"


@pytest.fixture
def sqlite_sessions(tmp_path: Path) -> Iterator[Sessions]:
    """A fresh migrated SQLite store for one test."""
    url = _sqlite_url(tmp_path)
    upgrade_database(url)
    engine = make_engine(url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_sessions(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Sessions]:
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
