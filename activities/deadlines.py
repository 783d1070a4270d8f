"""Calendar activities: working-day deadlines on the official Chinese calendar."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from claims.models import Deadline, DeadlineRequest


class CalendarActivities:
    """Deadline computation; its results are recorded in history, so replay never recomputes
    a deadline with a newer holiday table.

    Args:
        calendar: a ``claims.workdays.WorkingCalendar``.
    """

    def __init__(self, calendar: object) -> None:
        self._calendar = calendar

    @activity.defn
    def compute_deadline(self, req: DeadlineRequest) -> Deadline:
        """The instant ``req.working_days`` working days after ``req.start`` (Asia/Shanghai
        closing hour, returned as UTC), with the calendar version and the provisional flag.

        Raises:
            ApplicationError(type="CalendarError", non_retryable): the start is not aware.
        """
        try:
            return self._calendar.add_working_days(req.start, req.working_days)  # type: ignore[attr-defined]
        except ValueError as e:
            raise ApplicationError(str(e), type="CalendarError", non_retryable=True) from e
