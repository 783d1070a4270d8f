"""The monthly report's scheduled publication: the Temporal Schedule, and the published files.

One job: what a person (or ``claims up``) does about publication:

- :func:`ensure_schedule` creates the Schedule ``monthly-report`` or updates it to the current
  definition (idempotent: run it twice and there is one schedule with the same spec). It
  starts ``MonthlyReportWorkflow`` (``workflows/reports.py``) every day of days 1–10 of each
  month at 09:00 Asia/Shanghai; the workflow publishes on the month's first working day only
  (a schedule cannot know the Chinese working-day calendar). Runs missed while the server was
  down are caught up within :data:`CATCHUP_WINDOW`, each in turn (``BUFFER_ALL``), and each
  decides on the day it was due.
- :func:`publish_now` publishes a given month at once through the same workflow (a month
  missed beyond the catch-up window, or a re-run after a correction);
- :func:`schedule_status` describes it; :func:`published` lists the stored files and
  :func:`download` returns one (supervisors, within their county).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio.client import (
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from activities.reports import LAST_SCHEDULED_DAY, MonthlyReportInput, MonthlyReportResult
from claims.errors import ClaimNotFound, InputError, NotAllowed
from claims.models import TASK_QUEUE, Actor, Role
from claims.models.bounds import PLACE_LEN
from claims.services.context import Services
from claims.store.db import unit_of_work
from claims.store.published import PublishedFile, published_content, published_files
from workflows.reports import MonthlyReportWorkflow

SCHEDULE_ID = "monthly-report"
"""The schedule's id (also the prefix of its runs' workflow ids)."""

TIME_ZONE = "Asia/Shanghai"
HOUR = 9
CATCHUP_WINDOW = timedelta(days=31)
"""How far back runs missed while the server was down are still run."""

MONTH_RE = r"^\d{4}-(0[1-9]|1[0-2])$"


def schedule_spec() -> ScheduleSpec:
    """Every day of days 1–:data:`~activities.reports.LAST_SCHEDULED_DAY` at 09:00 Asia/Shanghai."""
    return ScheduleSpec(
        calendars=[
            ScheduleCalendarSpec(
                second=[ScheduleRange(0)],
                minute=[ScheduleRange(0)],
                hour=[ScheduleRange(HOUR)],
                day_of_month=[ScheduleRange(1, LAST_SCHEDULED_DAY)],
                comment="monthly report: the workflow publishes on the month's first working day",
            )
        ],
        time_zone_name=TIME_ZONE,
    )


def schedule_definition(counties: list[str] | None = None, task_queue: str = TASK_QUEUE) -> Schedule:
    """The schedule as it should be: spec, policy and the workflow it starts."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            MonthlyReportWorkflow.run,
            MonthlyReportInput(counties=list(counties or [])),
            id=SCHEDULE_ID,
            task_queue=task_queue,
            execution_timeout=timedelta(hours=12),
        ),
        spec=schedule_spec(),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.BUFFER_ALL, catchup_window=CATCHUP_WINDOW),
        state=ScheduleState(note="理赔明细 monthly publication (claims schedule monthly)"),
    )


@dataclass(frozen=True)
class ScheduleStatus:
    """What the schedule is: its id, whether this call created it (False: updated or just
    described), its counties (empty: all), its calendar in words, and the next runs (UTC)."""

    schedule_id: str
    created: bool
    counties: list[str]
    spec: str
    catchup_window: timedelta | None
    next_runs: list[datetime]


def _may_manage(actor: Actor | None) -> None:
    if actor is None:
        return
    if actor.role is not Role.SUPERVISOR or actor.county is not None:
        raise NotAllowed(
            "schedule: only a supervisor without a county scope manages the province's publication schedule",
            code="role.not_allowed",
            params={"role": actor.role.value},
        )


def _check_counties(counties: list[str] | None) -> list[str]:
    out = []
    for c in counties or []:
        if not 0 < len(c) <= PLACE_LEN:
            raise InputError("county", f"must be 1 to {PLACE_LEN} characters")
        if c not in out:
            out.append(c)
    return sorted(out)


def _spec_words(spec: ScheduleSpec) -> str:
    parts = []
    for cal in spec.calendars:
        days = ",".join(f"{r.start}-{r.end or r.start}" for r in cal.day_of_month)
        hours = ",".join(str(r.start) for r in cal.hour)
        minutes = ",".join(f"{r.start:02d}" for r in cal.minute)
        parts.append(f"days {days} at {hours}:{minutes}")
    return "; ".join(parts) + f" {spec.time_zone_name or 'UTC'}"


async def schedule_status(services: Services, created: bool = False) -> ScheduleStatus:
    """Describe the schedule.

    Raises:
        claims.errors.ClaimNotFound: there is no schedule ``monthly-report``.
    """
    client = await services.client()
    try:
        desc = await client.get_schedule_handle(SCHEDULE_ID).describe()
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            raise ClaimNotFound(
                SCHEDULE_ID, f"no schedule {SCHEDULE_ID}: run claims schedule monthly"
            ) from None
        raise
    action = desc.schedule.action
    counties: list[str] = []
    if isinstance(action, ScheduleActionStartWorkflow) and action.args:
        arg = action.args[0]
        if not isinstance(arg, MonthlyReportInput):  # described: the raw payload
            arg = (await client.data_converter.decode([arg], [MonthlyReportInput]))[0]
        counties = list(arg.counties)
    return ScheduleStatus(
        schedule_id=SCHEDULE_ID,
        created=created,
        counties=counties,
        spec=_spec_words(desc.schedule.spec),
        catchup_window=desc.schedule.policy.catchup_window,
        next_runs=list(desc.info.next_action_times[:5]),
    )


async def ensure_schedule(
    services: Services, actor: Actor | None, counties: list[str] | None = None, task_queue: str = TASK_QUEUE
) -> ScheduleStatus:
    """Create the schedule, or update the existing one to the current definition.

    Args:
        actor: a supervisor without a county scope, or None (``claims up``, the command line
            without an identity).
        counties: the counties to publish for (empty: every county of the register).

    Raises:
        claims.errors.NotAllowed: the actor may not manage the schedule.
        claims.errors.InputError: a county name out of bounds.
        claims.errors.Unavailable: Temporal does not answer.
    """
    _may_manage(actor)
    wanted = schedule_definition(_check_counties(counties), task_queue)
    client = await services.client()
    handle = client.get_schedule_handle(SCHEDULE_ID)
    try:
        await handle.describe()
    except RPCError as e:
        if e.status != RPCStatusCode.NOT_FOUND:
            raise
        try:
            await client.create_schedule(SCHEDULE_ID, wanted)
            return await schedule_status(services, created=True)
        except ScheduleAlreadyRunningError:  # created meanwhile by another caller: update it
            pass

    def _update(_: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(schedule=wanted)

    await handle.update(_update)
    return await schedule_status(services)


async def publish_now(
    services: Services,
    actor: Actor | None,
    month: str,
    counties: list[str] | None = None,
    task_queue: str = TASK_QUEUE,
) -> MonthlyReportResult:
    """Publish ``month`` now (whatever the day), for ``counties`` (default every county of the
    register), through the same workflow the schedule starts, and wait for it: for a month
    missed beyond the catch-up window, or a re-run after a correction. Same data → same
    sha256 → nothing stored or announced again.

    Raises:
        claims.errors.NotAllowed: the actor may not manage the publication.
        claims.errors.InputError: ``month`` is not ``YYYY-MM``, or a county out of bounds.
        claims.errors.Unavailable: Temporal does not answer.
    """
    _may_manage(actor)
    if not re.match(MONTH_RE, month or ""):
        raise InputError("month", f"{month!r} is not a month YYYY-MM")
    wanted = _check_counties(counties)
    client = await services.client()
    key = hashlib.sha256("\n".join([month, *wanted]).encode()).hexdigest()[:12]
    return await client.execute_workflow(
        MonthlyReportWorkflow.run,
        MonthlyReportInput(counties=wanted, month=month),
        id=f"{SCHEDULE_ID}-manual-{month}-{key}",
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        execution_timeout=timedelta(hours=12),
        result_type=MonthlyReportResult,
    )


def _reader(actor: Actor | None, county: str | None) -> str | None:
    if actor is None:
        return county
    if actor.role is not Role.SUPERVISOR:
        raise NotAllowed(
            f"published reports: role {actor.role.value!r} may not download them (roles: supervisor)",
            code="role.not_allowed",
            params={"role": actor.role.value},
        )
    if actor.county is not None:
        if county is not None and county != actor.county:
            raise NotAllowed(f"county: you read {actor.county} only, not {county}", code="scope.county")
        return actor.county
    return county


def published(
    services: Services, actor: Actor | None, county: str | None = None, month: str | None = None
) -> list[PublishedFile]:
    """The stored files in the reader's county (of ``county`` and ``month`` when given), newest
    month first.

    Raises:
        claims.errors.NotAllowed: not a supervisor, or another county asked for.
        claims.errors.InputError: ``month`` is not ``YYYY-MM``.
    """
    if month is not None and not re.match(MONTH_RE, month):
        raise InputError("month", f"{month!r} is not a month YYYY-MM")
    county = _reader(actor, county)
    with unit_of_work(services.sessions) as s:
        return published_files(s, county, month)


def download(services: Services, actor: Actor | None, file_id: int) -> tuple[PublishedFile, bytes]:
    """One stored file and its bytes, if the reader may have it.

    Raises:
        claims.errors.ClaimNotFound: no such file, or one of another county (the same answer).
        claims.errors.NotAllowed: not a supervisor.
    """
    scope = _reader(actor, None)
    with unit_of_work(services.sessions) as s:
        found = published_content(s, file_id)
    if found is None or (scope is not None and found[0].county != scope):
        raise ClaimNotFound(f"report-{file_id}", f"no published report {file_id}")
    return found
