"""Calendar activities: working-day and statutory deadlines on the official Chinese calendar."""

from __future__ import annotations

import datetime as dt

from temporalio import activity
from temporalio.exceptions import ApplicationError

from claims.models import (
    Deadline,
    DeadlineRequest,
    StatutoryDeadlineRequest,
    WorkingDaysRequest,
    WorkingDaysResult,
)
from claims.domain.workdays import SHANGHAI, CalendarError, CalendarSource, WorkingCalendar


class CalendarActivities:
    """Deadline computations. Their results are recorded in history, so a replay never
    recomputes a deadline with a newer holiday schedule; a new schedule reaches open claims
    through the ``calendar_changed`` signal instead.

    Args:
        calendar: a fixed ``WorkingCalendar``, or a ``CalendarSource`` that picks up files
            loaded with ``claims calendar load`` (default: the calendar folder).
    """

    def __init__(self, calendar: WorkingCalendar | CalendarSource | None = None) -> None:
        if isinstance(calendar, WorkingCalendar):
            calendar = CalendarSource(base=calendar)
        self._source = calendar or CalendarSource()

    def _calendar(self) -> WorkingCalendar:
        try:
            return self._source.get()
        except CalendarError as e:
            # A folder problem is mended by people, not by the claim: retry until it is.
            raise ApplicationError(f"calendar folder: {e}", type="CalendarFolderError") from e

    @activity.defn
    def compute_deadline(self, req: DeadlineRequest) -> Deadline:
        """The instant ``req.working_days`` working days after ``req.start``: the closing hour
        (Asia/Shanghai) of the due date, as UTC; with the calendar version and the provisional flag.

        Raises:
            ApplicationError(type="CalendarError", non_retryable): naive start or a bad calendar file.
        """
        try:
            return self._calendar().add_working_days(req.start, req.working_days)
        except ValueError as e:
            raise ApplicationError(str(e), type="CalendarError", non_retryable=True) from e

    @activity.defn
    def compute_statutory_deadline(self, req: StatutoryDeadlineRequest) -> Deadline:
        """A limit of ``req.calendar_days`` calendar days from ``req.start`` (Insurance Law arts.
        23–25), counted the Civil Code way (arts. 200–203): the first day is not counted and a
        last day on a rest day moves to the next working day. Due at the end of the due date
        (24:00 Asia/Shanghai), returned as UTC.

        Raises:
            ApplicationError(type="CalendarError", non_retryable): naive start or a bad calendar file.
        """
        if req.start.tzinfo is None:
            raise ApplicationError("start must be timezone-aware", type="CalendarError", non_retryable=True)
        cal = self._calendar()
        try:
            due = cal.statutory_deadline(req.start.astimezone(SHANGHAI).date(), req.calendar_days)
        except ValueError as e:
            raise ApplicationError(str(e), type="CalendarError", non_retryable=True) from e
        end = dt.datetime.combine(due + dt.timedelta(days=1), dt.time(0), tzinfo=SHANGHAI).astimezone(dt.UTC)
        return Deadline(
            start=req.start.astimezone(dt.UTC),
            working_days=0,
            due_date=due,
            due_at=end,
            calendar_version=cal.calendar_version,
            provisional=cal.is_provisional(due),
            calendar_days=req.calendar_days,
        )

    @activity.defn
    def count_working_days(self, req: WorkingDaysRequest) -> WorkingDaysResult:
        """Working days elapsed from ``req.start`` to ``req.end`` (0 = the same working day).

        Raises:
            ApplicationError(type="CalendarError", non_retryable): naive or reversed instants.
        """
        try:
            return WorkingDaysResult(working_days=self._calendar().working_days_between(req.start, req.end))
        except ValueError as e:
            raise ApplicationError(str(e), type="CalendarError", non_retryable=True) from e
