"""Calendar administration: a supervisor loads a published holiday schedule and every open
claim recomputes its deadlines.

One job: the rule (supervisors only), the check (the schedule fits the ones already loaded;
nothing is written otherwise), the copy into the calendar folder shared with the workers, and
the ``calendar_changed`` signal to every running claim, which records each deadline change in
its own history.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client

from claims.domain.workdays import CalendarError, WorkingCalendar, calendar_dir
from claims.errors import NotAllowed
from claims.models import Actor, CalendarChange, Role
from claims.services.context import Services
from claims.services.errors import Refused
from workflows.claim import ClaimWorkflow

LOADING_ROLES = frozenset({Role.SUPERVISOR, Role.SYSTEM})
"""Who may load a schedule: it moves every open claim's deadlines (supervisors; the engine)."""

RUNNING_CLAIMS = "WorkflowType = 'ClaimWorkflow' AND ExecutionStatus = 'Running'"
"""The visibility query of the claims a new schedule concerns."""


class ScheduleRefused(Refused):
    """A schedule file that cannot be loaded; the message names the file, the date and the fix
    (``field`` is ``file``). Nothing was written."""

    code = "calendar.refused"

    def __init__(self, text: str) -> None:
        super().__init__("file", text)


@dataclass(frozen=True)
class ScheduleAdded:
    """A schedule added: the calendar's new version, the folder and the file written."""

    calendar_version: str
    folder: Path
    target: Path


@dataclass(frozen=True)
class ScheduleLoaded:
    """A schedule added and how many open claims were told to recompute their deadlines."""

    added: ScheduleAdded
    claims_told: int


def check_schedule(file: Path, folder: Path) -> tuple[WorkingCalendar, str]:
    """The calendar of ``folder`` with ``file`` added, and the file's version. Nothing is
    written: a bad file changes nothing.

    Raises:
        ScheduleRefused: the file is not a schedule or contradicts one already loaded.
    """
    cal = WorkingCalendar()
    try:
        if folder.is_dir() and any(folder.glob("*.json")):
            cal.load_dir(folder)
        added = cal.load_file(file)
    except CalendarError as e:
        raise ScheduleRefused(str(e)) from None
    return cal, added.version


async def notify_open_claims(client: Client, change: CalendarChange) -> int:
    """Signal ``calendar_changed`` to every running claim; returns how many were told."""
    told = 0
    async for wf in client.list_workflows(RUNNING_CLAIMS):
        handle = client.get_workflow_handle(wf.id, run_id=wf.run_id)
        await handle.signal(ClaimWorkflow.calendar_changed, change)
        told += 1
    return told


def require_loader(actor: Actor) -> None:
    """Refuse anyone but a supervisor (or the engine) before anything is read.

    Raises:
        claims.errors.NotAllowed: the actor's role may not load schedules.
    """
    if actor.role not in LOADING_ROLES:
        raise NotAllowed(
            f"calendar load: role '{actor.role.value}' may not load schedules (role: supervisor)",
            params={"role": actor.role.value},
        )


def schedule_folder(services: Services) -> Path:
    """The calendar folder shared with the workers (``CLAIMS_CALENDAR_DIR`` or the default)."""
    return calendar_dir(services.settings.calendar.folder)


def add_schedule(services: Services, actor: Actor, file: Path) -> ScheduleAdded:
    """Check ``file`` and copy it into the calendar folder under its version's name (an
    amendment for a year never replaces that year's schedule).

    Raises:
        claims.errors.NotAllowed: not a supervisor (checked before the file is read).
        ScheduleRefused: a bad file, or a schedule of that version already loaded.
    """
    require_loader(actor)
    folder = schedule_folder(services)
    cal, version = check_schedule(file, folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (re.sub(r"[^A-Za-z0-9_.@-]", "_", version) + ".json")
    if target.exists():
        raise ScheduleRefused(
            f"calendar load: a schedule with version {version!r} is already loaded ({target})"
        )
    shutil.copyfile(file, target)
    return ScheduleAdded(cal.calendar_version, folder, target)


async def recompute_open_claims(services: Services, actor: Actor, calendar_version: str) -> int:
    """Tell every open claim the calendar changed (each records old and new deadlines).

    Raises:
        claims.errors.NotAllowed: not a supervisor.
        claims.errors.Unavailable: Temporal does not answer (a schedule added before stays
            added; the claims were not told).
    """
    require_loader(actor)
    client = await services.client()
    return await notify_open_claims(client, CalendarChange(calendar_version=calendar_version, actor=actor))


async def load_schedule(services: Services, actor: Actor, file: Path) -> ScheduleLoaded:
    """Add a holiday schedule and have every open claim recompute its deadlines
    (:func:`add_schedule`, then :func:`recompute_open_claims`)."""
    added = add_schedule(services, actor, file)
    told = await recompute_open_claims(services, actor, added.calendar_version)
    return ScheduleLoaded(added, told)
