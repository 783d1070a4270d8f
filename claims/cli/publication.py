"""``claims schedule monthly`` and ``claims reports publish|published|download``: the monthly report's
scheduled publication at the command line, and ``claims up``'s schedule keeping.

One job: parse, call ``claims.services.publication`` and print. :func:`keep_schedule` is what
``claims up`` runs beside its worker: once Temporal answers, the schedule is created or
updated (a failure is reported, never stops the engine).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from claims.cli.common import refused, run_async, services_of, viewer_of
from claims.errors import ClaimsError, Unavailable
from claims.infra.logging import get_logger
from claims.services.context import Services
from claims.services.publication import ScheduleStatus, download, ensure_schedule, publish_now, published


def status_text(status: ScheduleStatus) -> str:
    """The schedule in a few lines."""
    verb = "created" if status.created else "updated"
    lines = [
        f"schedule {status.schedule_id} {verb}: {status.spec}; "
        "the workflow publishes on the month's first working day",
        f"counties: {', '.join(status.counties) if status.counties else 'every county of the register'}",
        f"catch-up window: {status.catchup_window.days if status.catchup_window else 0} days",
    ]
    lines += [f"next run: {t.isoformat()}" for t in status.next_runs[:3]]
    return "\n".join(lines)


@click.group("schedule")
def schedule_group() -> None:
    """Schedules of the engine (Temporal Schedules)."""


@schedule_group.command("monthly")
@click.option(
    "--county", "counties", multiple=True, help="publish for this county only (repeatable; default all)"
)
@click.pass_context
@run_async
async def schedule_monthly(ctx: click.Context, counties: tuple[str, ...]) -> None:
    """Create or update the monthly report's schedule (idempotent): days 1-10 at 09:00
    Asia/Shanghai, publishing on the first working day of the month; missed runs caught up."""
    try:
        status = await ensure_schedule(services_of(ctx), viewer_of(ctx), list(counties))
    except ClaimsError as e:
        raise refused(e) from None
    click.echo(status_text(status))


@click.group("reports")
def reports_group() -> None:
    """Published monthly reports (理赔明细) stored by the scheduled publication."""


@reports_group.command("publish")
@click.option("--month", required=True, help="YYYY-MM, the month to publish now")
@click.option("--county", "counties", multiple=True, help="this county only (repeatable; default all)")
@click.pass_context
@run_async
async def reports_publish(ctx: click.Context, month: str, counties: tuple[str, ...]) -> None:
    """Publish a month now through the schedule's workflow (whatever the day): files stored
    with their sha256 and the supervisors notified, unless the same bytes were published."""
    try:
        result = await publish_now(services_of(ctx), viewer_of(ctx), month, list(counties))
    except ClaimsError as e:
        raise refused(e) from None
    if not result.published:
        click.echo(f"nothing published: {result.plan.reason}")
    for county in result.published:
        for f in county.files:
            state = "stored" if f.stored else "unchanged"
            click.echo(f"{county.county}  {county.month}  {f.filename}  {state}  sha256 {f.sha256}")
        click.echo(
            f"{county.county}: " + ("supervisors notified" if county.notified else "nobody notified again")
        )


@reports_group.command("published")
@click.option("--county", default=None)
@click.option("--month", default=None, help="YYYY-MM")
@click.pass_context
def reports_published(ctx: click.Context, county: str | None, month: str | None) -> None:
    """The stored files: id, county, month, file, size, sha256, when published (UTC)."""
    try:
        files = published(services_of(ctx), viewer_of(ctx), county, month)
    except ClaimsError as e:
        raise refused(e) from None
    if not files:
        click.echo("no published reports")
        return
    for f in files:
        click.echo(
            f"{f.id:>5}  {f.county}  {f.month}  {f.filename}  {f.size:,} bytes  "
            f"sha256 {f.sha256}  {f.published_at:%Y-%m-%d %H:%M}"
        )


@reports_group.command("download")
@click.argument("file_id", type=click.IntRange(1, 2**31 - 1))
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="default: the file's name"
)
@click.pass_context
def reports_download(ctx: click.Context, file_id: int, out: Path | None) -> None:
    """Write one stored file (its bytes as published)."""
    try:
        info, content = download(services_of(ctx), viewer_of(ctx), file_id)
    except ClaimsError as e:
        raise refused(e) from None
    target = out or Path(info.filename)
    target.write_bytes(content)
    click.echo(f"{target} ({len(content):,} bytes, sha256 {info.sha256})")


async def keep_schedule(services: Services, stop: asyncio.Event, attempts: int = 60) -> None:
    """``claims up``: create or update the schedule once Temporal answers (tried every 2 s,
    ``attempts`` times, until ``stop``)."""
    log = get_logger("claims.publication")
    error = "Temporal did not answer"
    for _ in range(attempts):
        if stop.is_set():
            return
        try:
            status = await ensure_schedule(services, None)
            log.info("monthly report schedule ready", schedule=status.schedule_id, created=status.created)
            return
        except Exception as e:  # noqa: BLE001 - the server may still be starting; never stop the engine
            error = e.message if isinstance(e, Unavailable) else str(e)
        try:
            await asyncio.wait_for(stop.wait(), timeout=2)
        except TimeoutError:
            pass
    log.warning("monthly report schedule not set", error=error)


COMMANDS = (schedule_group, reports_group)
