"""``claims calendar load`` and ``claims sla-report``: holiday schedules and SLA compliance."""

from __future__ import annotations

import re
import shutil
import statistics
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from claims.cli_common import UsageError, actor_of, client_for, ljust, run_async, sessions_for, settings_of
from claims.db import Claim
from claims.models import Actor, CalendarChange, Role
from claims.timeutil import SHANGHAI
from claims.workdays import CalendarError, WorkingCalendar, calendar_dir


@click.group("calendar")
def calendar_group() -> None:
    """The working-day calendar (official holiday schedules, 调休)."""


def check_schedule(file: Path, folder: Path) -> tuple[WorkingCalendar, str]:
    """The calendar of ``folder`` with ``file`` added, and the file's version; or
    ``UsageError`` naming the problem. Nothing is written: a bad file changes nothing.
    """
    cal = WorkingCalendar()
    try:
        if folder.is_dir() and any(folder.glob("*.json")):
            cal.load_dir(folder)
        added = cal.load_file(file)
    except CalendarError as e:
        raise UsageError(str(e)) from None
    return cal, added.version


async def notify_open_claims(client: Any, change: CalendarChange) -> int:
    """Signal ``calendar_changed`` to every running claim; returns how many were told."""
    from workflows.claim import ClaimWorkflow

    told = 0
    async for wf in client.list_workflows("WorkflowType = 'ClaimWorkflow' AND ExecutionStatus = 'Running'"):
        await client.get_workflow_handle(wf.id, run_id=wf.run_id).signal(
            ClaimWorkflow.calendar_changed, change
        )
        told += 1
    return told


@calendar_group.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
@run_async
async def calendar_load(ctx: click.Context, file: Path) -> None:
    """Add a holiday schedule FILE (a newly published year or an amendment) and recompute open claims.

    The file is validated against the schedules already loaded, copied into the calendar
    folder (CLAIMS_CALENDAR_DIR, shared with the workers), and every open claim is told to
    recompute its deadlines; each change is recorded in the claim's history with the old and
    new deadline and the calendar version.
    """
    actor: Actor = actor_of(ctx)
    if actor.role not in (Role.SUPERVISOR, Role.SYSTEM):
        raise UsageError(
            f"calendar load: role '{actor.role.value}' may not load schedules (role: supervisor)"
        )
    folder = calendar_dir()
    cal, version = check_schedule(file, folder)
    folder.mkdir(parents=True, exist_ok=True)
    # Each schedule keeps a file of its own, named by its version: an amendment for a year
    # must never replace that year's schedule.
    target = folder / (re.sub(r"[^A-Za-z0-9_.@-]", "_", version) + ".json")
    if target.exists():
        raise UsageError(f"calendar load: a schedule with version {version!r} is already loaded ({target})")
    shutil.copyfile(file, target)
    click.echo(f"calendar {cal.calendar_version}: {file.name} added to {folder}")
    client = await client_for(settings_of(ctx))
    told = await notify_open_claims(
        client, CalendarChange(calendar_version=cal.calendar_version, actor=actor)
    )
    click.echo(f"{told} open claim(s) told to recompute their deadlines")


def _parse_date(value: str, flag: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{flag}: {value!r} is not a date; write YYYY-MM-DD") from None


@click.command("sla-report")
@click.option("--from", "start", required=True, help="first report date, YYYY-MM-DD (Asia/Shanghai)")
@click.option("--to", "end", required=True, help="last report date, YYYY-MM-DD (Asia/Shanghai)")
@click.option("--county", default=None)
@click.pass_context
def sla_report(ctx: click.Context, start: str, end: str, county: str | None) -> None:
    """SLA compliance per county and township for claims reported in a period.

    Columns: claims reported, paid, declined, still open, breached; median working days from
    registration to money paid; % of decided claims (paid or declined) within target.
    """
    first, last = _parse_date(start, "--from"), _parse_date(end, "--to")
    if last < first:
        raise UsageError("--to is before --from")
    lo = datetime.combine(first, datetime.min.time(), tzinfo=SHANGHAI)
    hi = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=SHANGHAI)
    cal = WorkingCalendar()
    with sessions_for(settings_of(ctx))() as s:
        q = select(Claim).where(Claim.reported_at >= lo, Claim.reported_at < hi)
        if county:
            q = q.where(Claim.county == county)
        rows = list(s.scalars(q))
    click.echo(report_table(rows, cal, first, last))


def report_table(rows: list[Claim], cal: WorkingCalendar, first: date, last: date) -> str:
    """The SLA report as text: one line per county and township, then the total."""
    groups: dict[tuple[str, str], list[Claim]] = defaultdict(list)
    for r in rows:
        groups[(r.county, r.township)].append(r)
    head = (
        f"{'county':<12} {'township':<10} {'claims':>6} {'paid':>5} {'declined':>8} {'open':>5} "
        f"{'breached':>8} {'median wd to pay':>16} {'% within target':>15}"
    )
    lines = [f"SLA report for claims reported {first} to {last} (Asia/Shanghai)", head, "-" * len(head)]

    def line(county: str, township: str, claims: list[Claim]) -> str:
        paid = [c for c in claims if c.stage == "closed"]
        declined = [c for c in claims if c.stage == "declined"]
        decided = paid + declined
        days = [
            cal.working_days_between(c.registered_at, c.paid_at)
            for c in paid
            if c.registered_at and c.paid_at
        ]
        median = f"{statistics.median(days):g}" if days else "-"
        within = [c for c in decided if c.sla_state == "met"]
        pct = f"{100 * len(within) / len(decided):.0f}%" if decided else "-"
        breached = sum(c.sla_state == "breached" for c in claims)
        return (
            f"{ljust(county, 12)} {ljust(township, 10)} {len(claims):>6} {len(paid):>5} {len(declined):>8} "
            f"{len(claims) - len(decided):>5} {breached:>8} {median:>16} {pct:>15}"
        )

    for (county, township), claims in sorted(groups.items()):
        lines.append(line(county, township, claims))
    lines.append(line("all", "", rows))
    return "\n".join(lines)


def working_days_late(cal: WorkingCalendar, deadlines: list[datetime | None], now: datetime) -> list[int]:
    """Working days each deadline is past ``now`` (0 when not yet due), computed once per
    distinct deadline: most claims share a closing-hour deadline."""
    memo: dict[datetime, int] = {}
    out = []
    for d in deadlines:
        if d is None or d >= now:
            out.append(0)
            continue
        if d not in memo:
            memo[d] = cal.working_days_between(d, now)
        out.append(memo[d])
    return out
