"""``claims web``: serve the web console (uvicorn), and :func:`serve_beside` for ``claims up``.

One job: run ``claims.web.app.create_app`` on the configured address (``CLAIMS_WEB_HOST``,
``CLAIMS_WEB_PORT``; default 127.0.0.1:8000). The one command module that imports
``claims.web``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import click
import uvicorn

from claims.cli.common import run_async, services_of, settings_of
from claims.services.context import Services
from claims.web.app import create_app


class _Server(uvicorn.Server):
    """A uvicorn server that leaves the signals to its caller (``claims up`` stops it)."""

    def install_signal_handlers(self) -> None:  # uvicorn < 0.29
        return None

    def capture_signals(self):  # type: ignore[no-untyped-def]  # uvicorn >= 0.29
        import contextlib

        return contextlib.nullcontext()


def console_url(host: str, port: int) -> str:
    """The address a person opens."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    return f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}/"


def _config(services: Services, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(services),
        host=host,
        port=port,
        proxy_headers=True,  # X-Forwarded-Proto from a proxy on this machine: Secure cookies over https
        server_header=False,
        log_level=services.settings.log.level.lower(),
        access_log=False,
    )


async def serve_console(services: Services, stop: asyncio.Event) -> None:
    """Serve the console until ``stop`` is set (signals are the caller's).

    Raises:
        click.ClickException: the address cannot be bound (e.g. the port is taken).
    """
    web = services.settings.web
    server = _Server(_config(services, web.host, web.port))

    async def stopper() -> None:
        await stop.wait()
        server.should_exit = True

    watcher = asyncio.create_task(stopper())
    try:
        await server.serve()
    except SystemExit:  # uvicorn exits when it cannot bind
        raise click.ClickException(
            f"the console cannot listen on {web.host}:{web.port} (in use?); set CLAIMS_WEB_PORT"
        ) from None
    finally:
        watcher.cancel()


@click.command("web")
@click.option("--host", default=None, help="interface (default CLAIMS_WEB_HOST or 127.0.0.1)")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=None, help="port (default CLAIMS_WEB_PORT or 8000)"
)
@click.pass_context
@run_async
async def web(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the web console (Ctrl-C stops it). Needs a running engine (``claims up`` in
    another terminal, or TEMPORAL_ADDRESS) for claim pages and steps."""
    settings = settings_of(ctx)
    host = host or settings.web.host
    port = port or settings.web.port
    services = services_of(ctx)
    click.echo(f"console: {console_url(host, port)}  (accounts: claims user add)")
    server = uvicorn.Server(_config(services, host, port))
    try:
        await server.serve()
    except SystemExit:  # uvicorn exits when it cannot bind
        raise click.ClickException(
            f"the console cannot listen on {host}:{port} (in use?); set CLAIMS_WEB_PORT"
        ) from None


async def serve_beside(services: Services, main: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run ``main(stop)`` (``claims up``: the embedded server and a worker, whose Ctrl-C sets
    ``stop``) and the console together; when either ends, both stop. A console that cannot
    listen stops the worker and raises (``click.ClickException``)."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(main(stop)), asyncio.create_task(serve_console(services, stop))]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    for task in reversed(tasks):  # the console's failure first: it names the port
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
