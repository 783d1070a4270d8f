"""The services' context: what every service is given, built once per process.

One job: hold the process's settings, the store's session factory (engine built and migrated
**once**, on first use, not per command) and a Temporal client connected on first use, so the
command line, the web console and tests hand the services one object. A test gives its own
``Sessions`` and client (a stand-in) and nothing is connected or migrated behind its back.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable

from sqlalchemy import Engine
from temporalio.client import Client

from claims.errors import Unavailable
from claims.infra.settings import Settings
from claims.infra.temporal import TemporalUnavailable, connect
from claims.store.db import Sessions, make_engine, make_sessionmaker, upgrade_database

Connect = Callable[[Settings], Awaitable[Client]]
"""How a context reaches Temporal: ``claims.infra.temporal.connect`` unless a test gives one."""


async def connect_temporal(settings: Settings) -> Client:
    """A client for the configured cluster or the embedded server (``claims.infra.temporal.connect``).

    Raises:
        claims.errors.Unavailable: nothing answers (code ``service.unavailable``); the message
            says how to start the server.
    """
    try:
        return await connect(settings)
    except TemporalUnavailable as e:
        raise Unavailable(str(e), params={"service": "temporal"}) from None


class Services:
    """The context every service function takes first.

    Args:
        settings: the process settings (``claims.infra.settings.get_settings()``).
        sessions: a session factory to use instead of building one from the settings' store
            URL (tests, the worker's own).
        client: a Temporal client to use instead of connecting (tests, the demo's).
        connect: how to connect when no client was given (default :func:`connect_temporal`).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        sessions: Sessions | None = None,
        client: Client | None = None,
        connect: Connect = connect_temporal,
    ) -> None:
        self.settings = settings
        self._sessions = sessions
        self._engine: Engine | None = None
        self._client = client
        self._connect = connect
        # The web console serves requests from a thread pool and the event loop at once: the
        # first uses must migrate and connect once, not once per request that races in.
        self._sessions_lock = threading.Lock()
        self._client_lock = asyncio.Lock()

    @property
    def sessions(self) -> Sessions:
        """The store's session factory; the first use migrates the store to head (Alembic) and
        builds the engine, later uses reuse it (one migration even when first uses race)."""
        if self._sessions is None:
            with self._sessions_lock:
                if self._sessions is None:
                    url = self.settings.store.sqlalchemy_url()
                    upgrade_database(url)
                    self._engine = make_engine(url)
                    self._sessions = make_sessionmaker(self._engine)
        return self._sessions

    async def client(self) -> Client:
        """The Temporal client, connected on first use and reused.

        Raises:
            claims.errors.Unavailable: Temporal does not answer.
        """
        if self._client is None:
            async with self._client_lock:
                if self._client is None:
                    self._client = await self._connect(self.settings)
        return self._client

    def close(self) -> None:
        """Dispose of the engine this context built (not of sessions it was given)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
            self._sessions = None
