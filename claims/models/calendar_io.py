"""Inputs and results of the working-day calendar activities, and the calendar-changed signal.

Part of the boundary models (``claims.models``): import-light on purpose (pydantic and the
standard library only), so workflow code can import it inside the Temporal sandbox.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from claims.models.common import Actor, Frozen


class DeadlineRequest(Frozen):
    """Input of ``compute_deadline``: a start instant and a target in working days.

    ``working_days == 0`` means "the same working day" (by the closing hour).
    """

    start: datetime
    working_days: int = Field(ge=0, le=366)


class Deadline(Frozen):
    """An absolute deadline, computed on the Chinese working-day calendar.

    ``due_at`` is an aware UTC instant (the closing hour, Asia/Shanghai, of ``due_date``).
    ``provisional`` is true when any day counted lies in a year with no published holiday
    schedule: such a deadline is recomputed when the schedule is loaded. ``calendar_days`` is
    set (and ``working_days`` is 0) for a statutory limit counted in calendar days (Insurance
    Law arts. 23–25); older histories recorded it only in the activity's input, so it may be
    ``None`` there.
    """

    start: datetime
    working_days: int
    due_date: date
    due_at: datetime
    calendar_version: str
    provisional: bool
    calendar_days: int | None = None


class StatutoryDeadlineRequest(Frozen):
    """Input of ``compute_statutory_deadline``: a start instant and a limit in calendar days."""

    start: datetime
    calendar_days: int = Field(ge=1, le=3650)


class WorkingDaysRequest(Frozen):
    """Input of ``count_working_days``: working days elapsed from ``start`` to ``end``."""

    start: datetime
    end: datetime


class WorkingDaysResult(Frozen):
    """Working days (not calendar days) between two instants."""

    working_days: int


class CalendarChange(Frozen):
    """Signal ``calendar_changed``: a holiday schedule was loaded; open clocks recompute."""

    calendar_version: str
    actor: Actor
