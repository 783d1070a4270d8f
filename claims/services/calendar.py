"""What the working-day calendar says: when a target falls due, and a year's special days.

One job: the answers of ``claims calendar due`` and ``claims calendar show`` (and the
console's), computed on the calendar the workers use, as typed values; no server needed.
Loading a schedule is ``claims.services.calendar_admin``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from claims.domain.timeutil import SHANGHAI
from claims.domain.workdays import CalendarDay, CalendarSource, WorkingCalendar, calendar_dir
from claims.infra.settings import Settings
from claims.models import Deadline


def workers_calendar(settings: Settings) -> WorkingCalendar:
    """The calendar the workers use: the package schedules plus the calendar folder's files.

    Raises:
        claims.domain.workdays.CalendarError: a file in the folder cannot be used (the message
            names the file, the date and the fix).
    """
    return CalendarSource(calendar_dir(settings.calendar.folder)).get()


@dataclass(frozen=True)
class DueAnswer:
    """When a target of ``deadline.working_days`` working days from ``first`` falls due.

    Attributes:
        first: the day the clock starts (Asia/Shanghai), counted as received during working
            hours that day, the day itself not counted.
        received: the working day it counts as received on (``first``, or the next working
            day when ``first`` is a rest day).
        deadline: the due instant (17:30 Asia/Shanghai), provisional or not, with the
            calendar version the workers would record.
        provisional_years: the years from ``first`` to the due date with no published
            schedule (their statutory holidays stand in); empty when not provisional.
    """

    first: date
    received: date
    deadline: Deadline
    provisional_years: tuple[int, ...]


def due(cal: WorkingCalendar, first: date, working_days: int) -> DueAnswer:
    """The due instant of ``working_days`` working days from ``first`` on ``cal``."""
    # Midnight counts as received before the closing hour, so ``first`` is the effective start.
    start_at = datetime.combine(first, time.min, tzinfo=SHANGHAI)
    deadline = cal.add_working_days(start_at, working_days)
    received = cal.add_working_days(start_at, 0).due_date
    years: tuple[int, ...] = ()
    if deadline.provisional:
        span = range(first.year, deadline.due_date.year + 1)
        years = tuple(y for y in span if cal.is_provisional(date(y, 1, 1)))
    return DueAnswer(first, received, deadline, years)


@dataclass(frozen=True)
class YearCalendar:
    """A year's special days (days off and adjusted working days, with their source), where
    its schedule comes from, and its count of working days."""

    year: int
    source: str
    calendar_version: str
    days: tuple[CalendarDay, ...]
    working_days: int


def year(cal: WorkingCalendar, which: int) -> YearCalendar:
    """The special days of year ``which`` on ``cal`` and its number of working days."""
    total = sum(
        cal.is_working_day(date.fromordinal(o))
        for o in range(date(which, 1, 1).toordinal(), date(which, 12, 31).toordinal() + 1)
    )
    return YearCalendar(which, cal.year_source(which), cal.calendar_version, cal.special_days(which), total)
