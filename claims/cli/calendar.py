"""``claims calendar load``, ``due`` and ``show``: the working-day calendar (official holiday
schedules, 调休).

One job: parse these commands and print their answers. Loading a schedule is a supervisor's
service (``claims.services.calendar_admin``: the role check, the copy, the signal to open
claims); ``due`` and ``show`` print ``claims.services.calendar``'s answers and need no server.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from claims.cli.common import UsageError, actor_of, parse_date, refused, run_async, services_of
from claims.cli.render import ljust
from claims.domain.timeutil import SHANGHAI
from claims.domain.workdays import CalendarError, WorkingCalendar, calendar_dir
from claims.infra.settings import get_settings
from claims.errors import ClaimsError
from claims.services import calendar_admin
from claims.services.calendar import due, workers_calendar
from claims.services.calendar import year as year_of


@click.group("calendar")
def calendar_group() -> None:
    """The working-day calendar (official holiday schedules, 调休)."""


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
    actor, services = actor_of(ctx), services_of(ctx)
    try:
        added = calendar_admin.add_schedule(services, actor, file)
        click.echo(f"calendar {added.calendar_version}: {file.name} added to {added.folder}")
        told = await calendar_admin.recompute_open_claims(services, actor, added.calendar_version)
    except ClaimsError as e:
        raise refused(e) from None
    click.echo(f"{told} open claim(s) told to recompute their deadlines")


CALENDAR_FIRST = date(2000, 1, 1)
"""Earliest date ``claims calendar due`` / ``show`` accept (the five-day week began in 1995)."""
CALENDAR_LAST = date(2100, 12, 31)
"""Latest date they accept: a deadline more than a lifetime away is a typing error."""
MAX_WORKING_DAYS = 366
"""Largest target ``claims calendar due`` computes (the longest programme target is 30)."""
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _load_calendar() -> WorkingCalendar:
    """The calendar the workers use, or ``UsageError`` naming the folder and the problem."""
    settings = get_settings()
    try:
        return workers_calendar(settings)
    except CalendarError as e:
        raise UsageError(f"calendar folder {calendar_dir(settings.calendar.folder)}: {e}") from None


def _calendar_date(value: str, flag: str) -> date:
    day = parse_date(value, flag)
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
    answer = due(_load_calendar(), first, working_days)
    deadline = answer.deadline
    due_local = deadline.due_at.astimezone(SHANGHAI)
    click.echo(
        f"due: {due_local:%Y-%m-%d %H:%M} Asia/Shanghai ({_WEEKDAYS[due_local.weekday()]}), "
        f"{deadline.due_at.isoformat().replace('+00:00', 'Z')}"
    )
    rolled = "" if answer.received == first else f" (a rest day: counts as received on {answer.received})"
    if working_days == 0:
        click.echo(f"from: {first}{rolled}; 0 working days: due the same working day")
    else:
        click.echo(f"from: {first}{rolled}; {working_days} working day(s) after it, start day not counted")
    if deadline.provisional:
        click.echo(
            f"provisional: yes: no published schedule for {', '.join(map(str, answer.provisional_years))}; "
            "its statutory holidays (全国年节及纪念日放假办法) stand in until the notice is loaded "
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
    shown = year_of(_load_calendar(), year)
    click.echo(f"{year}: {shown.source}")
    click.echo(f"calendar version: {shown.calendar_version}")
    head = f"{'date':<10}  {'weekday':<9}  {'status':<11}  {'name':<50}  source"
    click.echo(head)
    click.echo("-" * len(head))
    for d in shown.days:
        status = "working day" if d.working else "day off"
        weekday = _WEEKDAYS[d.date.weekday()]
        click.echo(f"{d.date}  {weekday:<9}  {status:<11}  {ljust(d.name, 50)}  {d.source}")
    off = sum(not d.working for d in shown.days)
    adjusted = sum(d.working for d in shown.days)
    click.echo(
        f"{off} day(s) off, {adjusted} adjusted working day(s); {shown.working_days} working days in {year}"
    )
