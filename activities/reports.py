"""Monthly report publication activities: whether today publishes, and one county-month's files.

One job: the I/O of ``workflows/reports.py``'s ``MonthlyReportWorkflow``:

- :meth:`ReportActivities.plan_publication`: from the instant the run was scheduled for, decide
  on the official working-day calendar (``claims.domain.workdays``) whether that day (Asia/
  Shanghai) is its month's first working day; if so the month to publish is the month before,
  for the counties asked for (default every county of the register). A Temporal Schedule
  cannot know the Chinese calendar, so the schedule fires daily on days 1–10 and this decides.
- :meth:`ReportActivities.publish_county_month`: build the county-month's files with the
  monthly report's builder (``claims.reports``), store each with its sha256
  (``claims.store.published``) and, when anything new was stored, queue one notice to the
  county's supervisors in the outbox (``claims.store.notices``), in one transaction. The
  builder is deterministic, so a re-run for the same data finds the same sha256, stores
  nothing and notifies nobody again.

The workflow's input and result models live here too (the workflow imports them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date, datetime, timedelta

from pydantic import Field
from sqlalchemy.orm import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from claims.domain.timeutil import SHANGHAI
from claims.domain.workdays import CalendarError, CalendarSource, WorkingCalendar
from claims.infra.logging import get_logger
from claims.models.bounds import PlaceName
from claims.models.common import Frozen
from claims.store.db import Sessions, unit_of_work
from claims.store.ids import utcnow
from claims.store.notices import add_notification
from claims.store.published import registered_counties, store_file

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
"""A report month, ``YYYY-MM``."""

LAST_SCHEDULED_DAY = 10
"""The schedule fires on days 1 to this of each month (the first working day always falls in
them: the longest holiday, National Day, ends by the 8th)."""

Builder = Callable[[Session, str, str], list[tuple[str, bytes]]]
"""Builds one county-month's files in the caller's transaction: (session, county, ``YYYY-MM``)
→ [(file name, bytes)], deterministic (same data, same bytes)."""


class MonthlyReportInput(Frozen):
    """What a run publishes.

    Attributes:
        counties: the counties (empty: every county of the register).
        month: ``YYYY-MM`` to publish now, whatever the day (a manual run); None: the
            scheduled behaviour (the previous month, on the first working day only).
        scheduled_at: the instant the run stands for (default: the schedule's scheduled start
            time, else the workflow's start), deciding the day on the calendar.
    """

    counties: list[PlaceName] = Field(default_factory=list, max_length=500)
    month: str | None = Field(default=None, pattern=MONTH_PATTERN)
    scheduled_at: datetime | None = None


class PlanRequest(Frozen):
    """Input of :meth:`ReportActivities.plan_publication`."""

    scheduled_at: datetime
    counties: list[PlaceName] = Field(default_factory=list, max_length=500)
    month: str | None = Field(default=None, pattern=MONTH_PATTERN)


class Plan(Frozen):
    """Whether to publish, which month, for which counties, and why (in words)."""

    publish: bool
    day: date
    month: str | None
    counties: list[str]
    reason: str


class PublishRequest(Frozen):
    """Input of :meth:`ReportActivities.publish_county_month`."""

    county: PlaceName
    month: str = Field(pattern=MONTH_PATTERN)
    workflow_id: str | None = None


class PublishedFileInfo(Frozen):
    """One file built: name, sha256, size, and whether this run stored it (False: the same
    bytes were stored before)."""

    filename: str
    sha256: str
    size: int
    stored: bool


class PublishResult(Frozen):
    """One county-month's publication: its files and whether a notice was queued."""

    county: str
    month: str
    files: list[PublishedFileInfo]
    notified: bool


class MonthlyReportResult(Frozen):
    """A run's outcome: the plan and each county's publication."""

    plan: Plan
    published: list[PublishResult] = Field(default_factory=list)


def previous_month(day: date) -> str:
    """``YYYY-MM`` of the month before ``day``'s."""
    last = day.replace(day=1) - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def first_working_day(cal: WorkingCalendar, year: int, month: int) -> date | None:
    """The month's first working day on ``cal`` within days 1..:data:`LAST_SCHEDULED_DAY`."""
    for d in range(1, LAST_SCHEDULED_DAY + 1):
        day = date(year, month, d)
        if cal.is_working_day(day):
            return day
    return None


PUBLISHED_FORMATS = ("xlsx", "csv", "pdf")
"""The files published for each county-month (the township edition)."""


def monthly_files(
    session: Session, county: str, month: str, cal: WorkingCalendar | None = None
) -> list[tuple[str, bytes]]:
    """The default builder: the township edition of the monthly 理赔明细 (names masked) as
    xlsx, CSV (with a BOM) and PDF, from ``claims.reports`` (deterministic: the same data give
    the same bytes)."""
    from claims.reports import formats
    from claims.reports.monthly import Edition, Month, build_monthly

    report = build_monthly(session, county, Month.parse(month), Edition.TOWNSHIP, cal)
    return [
        (formats.file_name(report, formats.Format(f)), formats.render(report, formats.Format(f)))
        for f in PUBLISHED_FORMATS
    ]


class ReportActivities:
    """The publication's activities.

    Args:
        sessions: the store's session factory.
        calendar: a fixed ``WorkingCalendar`` or a ``CalendarSource`` (default: the calendar folder).
        builder: how a county-month's files are built (default :func:`monthly_files` on
            this calendar).
    """

    def __init__(
        self,
        sessions: Sessions,
        calendar: WorkingCalendar | CalendarSource | None = None,
        builder: Builder | None = None,
    ) -> None:
        if isinstance(calendar, WorkingCalendar):
            calendar = CalendarSource(base=calendar)
        self._source = calendar or CalendarSource()
        self._sessions = sessions
        self._builder: Builder = builder or (
            lambda s, county, month: monthly_files(s, county, month, self._calendar())
        )

    def _calendar(self) -> WorkingCalendar:
        try:
            return self._source.get()
        except CalendarError as e:
            raise ApplicationError(f"calendar folder: {e}", type="CalendarFolderError") from e

    @activity.defn
    def plan_publication(self, req: PlanRequest) -> Plan:
        """Decide whether the run scheduled at ``req.scheduled_at`` publishes (module docstring).

        A given month publishes whatever the day. The counties default to the register's.
        """
        day = req.scheduled_at.astimezone(SHANGHAI).date()
        if req.month is not None:
            month, reason = req.month, f"{req.month} asked for"
        else:
            first = first_working_day(self._calendar(), day.year, day.month)
            if first != day:
                why = "no working day in days 1-10" if first is None else f"the first working day is {first}"
                return Plan(
                    publish=False,
                    day=day,
                    month=None,
                    counties=[],
                    reason=f"{day}: not the first working day of the month ({why})",
                )
            month, reason = previous_month(day), f"{day} is the first working day of {day:%Y-%m}"
        with unit_of_work(self._sessions) as s:
            counties = list(req.counties) or registered_counties(s)
        return Plan(
            publish=bool(counties),
            day=day,
            month=month,
            counties=counties,
            reason=reason if counties else "no county on the register",
        )

    @activity.defn
    def publish_county_month(self, req: PublishRequest) -> PublishResult:
        """Build, store and announce one county's month (module docstring). Idempotent: the
        files are stored once per sha256, the notice queued once per set of files."""
        now = utcnow()
        with unit_of_work(self._sessions) as s:
            built = self._builder(s, req.county, req.month)
            files = []
            for name, content in built:
                digest, stored = store_file(s, req.county, req.month, name, content, now, req.workflow_id)
                files.append(
                    PublishedFileInfo(filename=name, sha256=digest, size=len(content), stored=stored)
                )
            notified = False
            if any(f.stored for f in files):
                fingerprint = hashlib.sha256(
                    "\n".join(
                        [req.county, req.month, *sorted(f"{f.filename}:{f.sha256}" for f in files)]
                    ).encode()
                ).hexdigest()
                names = "、".join(f.filename for f in files)
                notified = add_notification(
                    s,
                    claim_number=f"monthly-report-{req.month}",
                    kind="monthly_report",
                    county=req.county,
                    message=f"{req.county} {req.month} 理赔明细已发布 (monthly report published): {names}",
                    dedupe_key=f"monthly-report:{fingerprint}",
                    now=now,
                )
        get_logger("activities.reports", county=req.county, month=req.month).info(
            "monthly report published",
            files=[(f.filename, f.sha256[:12], f.stored) for f in files],
            notified=notified,
        )
        return PublishResult(county=req.county, month=req.month, files=files, notified=notified)
