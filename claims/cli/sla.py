"""``claims calendar load`` and ``claims sla-report``: holiday schedules and SLA compliance."""

from __future__ import annotations

import re
import shutil
import statistics
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from claims.models.bounds import MAX_DATE, MIN_DATE
from claims.cli.common import UsageError, actor_of, client_for, ljust, run_async, sessions_for, settings_of
from claims.store.db import Claim
from claims.models import Actor, CalendarChange, Role
from claims.domain.timeutil import SHANGHAI
from claims.domain.workdays import CalendarError, CalendarSource, WorkingCalendar, calendar_dir


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


CALENDAR_FIRST = date(2000, 1, 1)
"""Earliest date ``claims calendar due`` / ``show`` accept (the five-day week began in 1995)."""
CALENDAR_LAST = date(2100, 12, 31)
"""Latest date they accept: a deadline more than a lifetime away is a typing error."""
MAX_WORKING_DAYS = 366
"""Largest target ``claims calendar due`` computes (the longest programme target is 30)."""
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _load_calendar() -> WorkingCalendar:
    """The calendar the workers use: the package schedules plus the calendar folder's files."""
    try:
        return CalendarSource(calendar_dir()).get()
    except CalendarError as e:
        raise UsageError(f"calendar folder {calendar_dir()}: {e}") from None


def _calendar_date(value: str, flag: str) -> date:
    day = _parse_date(value, flag)
    if not CALENDAR_FIRST <= day <= CALENDAR_LAST:
        raise UsageError(f"{flag}: {value} is outside {CALENDAR_FIRST} to {CALENDAR_LAST}")
    return day


def _county(value: str | None) -> str | None:
    if value is not None and (not value or len(value) > 64 or not value.isprintable()):
        raise UsageError(
            "--county: give a county name of 1 to 64 printable characters "
            "(no control or bidirectional-override characters)"
        )
    return value


@calendar_group.command("due")
@click.option(
    "--from",
    "start",
    required=True,
    metavar="DATE",
    help="day the clock starts, YYYY-MM-DD (Asia/Shanghai), 2000-01-01 to 2100-12-31; "
    "counted as received during working hours that day, the day itself not counted",
)
@click.option(
    "--working-days",
    "working_days",
    required=True,
    type=click.IntRange(0, MAX_WORKING_DAYS),
    help="target in working days, 0 (same working day) to 366",
)
@click.option(
    "--county",
    default=None,
    help="accepted and echoed only: the working-day calendar is national, the same for every county",
)
def calendar_due(start: str, working_days: int, county: str | None) -> None:
    """When a target of N working days from DATE falls due (no Temporal server needed).

    Prints the due instant (the 17:30 closing hour, Asia/Shanghai, and in UTC), whether the
    answer is provisional (a year on the way has no published holiday schedule, so its
    statutory holidays stand in until `claims calendar load` adds the notice) and the
    calendar version the workers would record. A DATE on a rest day counts from the next
    working day, as a report received that day would.
    """
    first = _calendar_date(start, "--from")
    county = _county(county)
    cal = _load_calendar()
    # Midnight counts as received before the closing hour, so DATE is the effective start.
    start_at = datetime.combine(first, time.min, tzinfo=SHANGHAI)
    deadline = cal.add_working_days(start_at, working_days)
    received = cal.add_working_days(start_at, 0).due_date
    due_local = deadline.due_at.astimezone(SHANGHAI)
    click.echo(
        f"due: {due_local:%Y-%m-%d %H:%M} Asia/Shanghai ({_WEEKDAYS[due_local.weekday()]}), "
        f"{deadline.due_at.isoformat().replace('+00:00', 'Z')}"
    )
    rolled = "" if received == first else f" (a rest day: counts as received on {received})"
    if working_days == 0:
        click.echo(f"from: {first}{rolled}; 0 working days: due the same working day")
    else:
        click.echo(f"from: {first}{rolled}; {working_days} working day(s) after it, start day not counted")
    if deadline.provisional:
        span = range(first.year, deadline.due_date.year + 1)
        years = [y for y in span if cal.is_provisional(date(y, 1, 1))]
        click.echo(
            f"provisional: yes: no published schedule for {', '.join(map(str, years))}; its statutory "
            "holidays (全国年节及纪念日放假办法) stand in until the notice is loaded "
            "(claims calendar load), then open claims recompute"
        )
    else:
        click.echo("provisional: no")
    click.echo(f"calendar version: {deadline.calendar_version}")
    if county is not None:
        click.echo(f"county: {county} (the calendar is national: the same answer for every county)")


@calendar_group.command("show")
@click.argument("year", type=click.IntRange(CALENDAR_FIRST.year, CALENDAR_LAST.year))
def calendar_show(year: int) -> None:
    """List the days off and adjusted working days of YEAR with their source.

    Sources: the published schedule (chinesecalendar), an override file in the calendar folder
    (CLAIMS_CALENDAR_DIR, added by `claims calendar load`), or, for a year without either,
    the provisional statutory holidays of 全国年节及纪念日放假办法 and their make-up days (补假),
    which the notice replaces when it is loaded. Every day not listed is a working day
    Monday to Friday and a rest day at the weekend.
    """
    cal = _load_calendar()
    days = cal.special_days(year)
    click.echo(f"{year}: {cal.year_source(year)}")
    click.echo(f"calendar version: {cal.calendar_version}")
    head = f"{'date':<10}  {'weekday':<9}  {'status':<11}  {'name':<50}  source"
    click.echo(head)
    click.echo("-" * len(head))
    for d in days:
        status = "working day" if d.working else "day off"
        weekday = _WEEKDAYS[d.date.weekday()]
        click.echo(f"{d.date}  {weekday:<9}  {status:<11}  {ljust(d.name, 50)}  {d.source}")
    off = sum(not d.working for d in days)
    adjusted = sum(d.working for d in days)
    total = sum(
        cal.is_working_day(date.fromordinal(o))
        for o in range(date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal() + 1)
    )
    click.echo(f"{off} day(s) off, {adjusted} adjusted working day(s); {total} working days in {year}")


def _parse_date(value: str, flag: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{flag}: {value!r} is not a date; write YYYY-MM-DD") from None


def _report_date(value: str, flag: str) -> date:
    """A date of a report period, within the engine's bounds (``claims.models.bounds``)."""
    day = _parse_date(value, flag)
    if not MIN_DATE <= day <= MAX_DATE:
        raise UsageError(f"{flag}: {value} is outside {MIN_DATE} .. {MAX_DATE}")
    return day


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
    first, last = _report_date(start, "--from"), _report_date(end, "--to")
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
