"""``claims up``, ``worker``, ``demo``, ``db upgrade``, ``cluster setup`` and ``reconcile``: running
the engine.

One job: the commands that start, check or set up the engine itself. The worker lives above
the command line (``worker.py``), so :func:`system_commands` is given its two entry points by
``starter.py`` instead of importing them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import click
from temporalio.client import Client

from claims.cli.common import run_async, services_of, settings_of, viewer_of
from claims.cli.publication import keep_schedule
from claims.cli.web import console_url, serve_beside
from claims.domain.workdays import get_calendar
from claims.errors import Unavailable
from claims.infra.settings import REPO_ROOT, Settings
from claims.infra.temporal import (
    EMBEDDED_RETENTION_DAYS,
    EmbeddedServer,
    TemporalUnavailable,
    connect,
    embedded_mode,
    prepare_namespace,
    start_embedded_server,
)
from claims.models import TASK_QUEUE
from claims.services.context import Services
from claims.services.demo import format_table, run_demo
from claims.services.publication import ensure_schedule
from claims.services.reconcile import reconcile_claims
from claims.store.db import Sessions, upgrade_database

DEMO_DIR = REPO_ROOT / "data" / "demo"

RunWorker = Callable[..., Awaitable[None]]
"""``worker.run_worker(settings, headless=...)``: a worker until Ctrl-C (the embedded server too)."""
BuildWorker = Callable[[Client, Sessions], AbstractAsyncContextManager[object]]
"""``worker.build_worker(client, sessions)``: a worker on ``TASK_QUEUE`` as an async context."""


@click.group()
def db() -> None:
    """The SQL store."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply the store's migrations (Alembic) to DATABASE_URL or the local SQLite file."""
    url = settings_of(ctx).store.sqlalchemy_url()
    upgrade_database(url)
    click.echo(f"store at head: {url.split('@')[-1]}")


@click.group()
def cluster() -> None:
    """A Temporal cluster of your own (TEMPORAL_ADDRESS)."""


@cluster.command("setup")
@click.option(
    "--retention-days",
    type=click.IntRange(1, 36500),
    default=EMBEDDED_RETENTION_DAYS,
    show_default=True,
    help="history retention of the namespace, in days",
)
@click.pass_context
@run_async
async def cluster_setup(ctx: click.Context, retention_days: int) -> None:
    """Prepare the namespace of TEMPORAL_ADDRESS for the engine, once (repeating it is
    harmless): register the namespace if missing, set its retention, register the claims'
    search attributes. Needs Temporal's operator permissions."""
    settings = settings_of(ctx)
    if settings.temporal.embedded:
        raise click.ClickException(
            "TEMPORAL_ADDRESS is not set: the embedded server is prepared at every start; "
            "this command is for a cluster of your own"
        )
    try:
        client = await connect(settings)
        done = await prepare_namespace(client, retention_days)
    except TemporalUnavailable as e:
        raise click.ClickException(str(e)) from None
    click.echo(
        f"namespace {done.namespace}: {'registered' if done.created else 'found'}, "
        f"retention {done.retention_days} days, search attributes "
        + (f"added: {', '.join(done.added)}" if done.added else "all present")
    )


@click.command()
@click.pass_context
@run_async
async def reconcile(ctx: click.Context) -> None:
    """Claims recorded on one side only: store rows without a workflow, workflows without a row.

    Exit code 1 when anything is found. A row without a workflow is started again by reporting
    the claim again (``claims report`` / ``claims import`` find the row and start it).
    """
    try:
        found = await reconcile_claims(services_of(ctx), viewer_of(ctx))
    except Unavailable as e:
        raise click.ClickException(e.message) from None
    click.echo(f"{found.rows} claim row(s) in the store, {found.workflows} claim workflow(s) in Temporal")
    for number, stage in found.rows_without_workflow:
        click.echo(f"row without workflow: {number} (stage {stage}); report it again to start its workflow")
    for wid in found.workflows_without_row:
        click.echo(f"workflow without row: {wid}; its claim was never recorded in this store")
    if not found.consistent:
        raise SystemExit(1)
    click.echo("consistent")


async def _demo(
    settings: Settings, build_worker: BuildWorker, register_path: Path, claims_path: Path
) -> None:
    """The demo in this process: the store migrated, the embedded server if needed, a worker,
    the three cases, the table; the server stops and the engine is disposed of at the end."""
    server: EmbeddedServer | None = None

    async def connect_here(s: Settings) -> Client:
        return await connect(s, server.address if server else None)

    services = Services(settings, connect=connect_here)
    try:
        sessions = services.sessions  # migrated before anything starts
        if embedded_mode(settings):
            try:
                server = start_embedded_server(settings)
            except TemporalUnavailable as e:
                raise click.ClickException(str(e)) from None
            click.echo(
                f"Temporal dev server at {server.address}, web UI {server.ui_url} "
                f"(data in {settings.store.data_dir})"
            )
        client = await services.client()
        async with build_worker(client, sessions):
            try:
                rows = await run_demo(
                    client,
                    sessions,
                    register_path,
                    claims_path,
                    get_calendar(settings.calendar.folder),
                    TASK_QUEUE,
                )
            except ValueError as e:
                raise click.ClickException(str(e)) from None
        click.echo(format_table(rows))
        # the monthly report's schedule, as `claims up` keeps it (visible in the server's list)
        schedule = await ensure_schedule(services, None)
        click.echo(f"schedule {schedule.schedule_id}: {schedule.spec} (claims schedule monthly)")
    finally:
        services.close()
        if server:
            server.stop()


def system_commands(run_worker: RunWorker, build_worker: BuildWorker) -> list[click.Command]:
    """``up``, ``worker`` and ``demo`` (given the worker's entry points), ``db``, ``cluster`` and
    ``reconcile``."""

    @click.command()
    @click.option("--headless", is_flag=True, help="no Temporal web UI (the console still runs)")
    @click.pass_context
    @run_async
    async def up(ctx: click.Context, headless: bool) -> None:
        """Start the embedded Temporal server (unless TEMPORAL_ADDRESS is set), a worker and the
        web console (CLAIMS_WEB_HOST:CLAIMS_WEB_PORT, default 127.0.0.1:8000); Ctrl-C stops them.
        --headless leaves out Temporal's own web UI only."""
        settings = settings_of(ctx)
        if settings.temporal.embedded:
            ui = (
                "no web UI (--headless)"
                if headless
                else f"Temporal web UI: http://127.0.0.1:{settings.temporal.ui_port}"
            )
            click.echo(f"{ui}  (data in {settings.store.data_dir})")
        click.echo(f"console: {console_url(settings.web.host, settings.web.port)}  (accounts: claims user add)")
        services = services_of(ctx)

        async def engine(stop: asyncio.Event) -> None:
            # the monthly report's schedule is created or updated once the server answers
            keeper = asyncio.create_task(keep_schedule(services, stop))
            try:
                await run_worker(settings, stop=stop, headless=headless)
            finally:
                keeper.cancel()

        await serve_beside(services, engine)

    @click.command("worker")
    @click.pass_context
    @run_async
    async def worker_cmd(ctx: click.Context) -> None:
        """Run a worker only (uses the embedded server, starting it if needed, or TEMPORAL_ADDRESS)."""
        await run_worker(settings_of(ctx))

    @click.command()
    @click.option(
        "--register",
        "register_path",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=DEMO_DIR / "register.json",
        show_default=True,
    )
    @click.option(
        "--claims",
        "claims_path",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=DEMO_DIR / "claims.json",
        show_default=True,
    )
    @click.pass_context
    @run_async
    async def demo(ctx: click.Context, register_path: Path, claims_path: Path) -> None:
        """Carry the seed's three real cases end to end and print the table.

        Starts the embedded Temporal server (unless TEMPORAL_ADDRESS is set) and a worker in
        this process, and stops both at the end.
        """
        await _demo(settings_of(ctx), build_worker, register_path, claims_path)

    return [db, cluster, up, worker_cmd, demo, reconcile]
