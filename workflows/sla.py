"""The SLA clocks of one claim, kept inside the claim workflow (deterministic code).

Two kinds run side by side, in the style of a service-desk SLA engine:

- programme targets in working days (``registration``: report to registration, same
  working day; ``resolution``: registration to money paid, 2 / 3 / 5 / 15 / 30 working days
  by the SLA policy), which pause while waiting on the claimant for documents; the paused
  working days, capped by the policy, extend the deadline;
- statutory limits in calendar days from the Insurance Law, counted the Civil Code way:
  ``art23_decision`` (30 days from complete documents to the decision), ``art23_payment``
  (10 days from agreeing the amount to payment), ``art24_refusal_notice`` (3 days from a
  declinature to its notice), ``art25_advance_payment`` (60 days from complete documents:
  pay the part that can be established).

Each clock warns at 50 % and 80 % of its time and breaches at 100 %. Every deadline is
computed by an activity and recorded in history; a newly loaded holiday schedule reaches
open claims through :meth:`SlaClocks.recompute`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows.short_steps import short_step

with workflow.unsafe.imports_passed_through():
    from activities.deadlines import CalendarActivities
    from claims.models import (
        SYSTEM,
        TRIGGER_CLOCKS,
        Actor,
        ClockKind,
        Deadline,
        DeadlineRequest,
        SlaClock,
        SlaState,
        StatutoryDeadlineRequest,
        WorkingDaysRequest,
    )

CALENDAR_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(minutes=10),
    non_retryable_error_types=["CalendarError"],
)
"""Bad arguments (``CalendarError``) fail at once; a broken calendar folder
(``CalendarFolderError``) is retried until someone mends it, so no claim fails for it."""
CALENDAR_TIMEOUT = timedelta(seconds=30)

R = TypeVar("R")


async def _calendar(method: Callable[[Any, Any], R], arg: Any) -> R:
    """Run a calendar activity as a short step, with the calendar's timeout and retry policy."""
    return await short_step(method, arg, timeout=CALENDAR_TIMEOUT, retry=CALENDAR_RETRY)

REGISTRATION = "registration"
RESOLUTION = "resolution"
ART23_DECISION = "art23_decision"
ART23_PAYMENT = "art23_payment"
ART24_REFUSAL_NOTICE = "art24_refusal_notice"
ART25_ADVANCE_PAYMENT = "art25_advance_payment"

STATUTORY_DAYS = {ART23_DECISION: 30, ART23_PAYMENT: 10, ART24_REFUSAL_NOTICE: 3, ART25_ADVANCE_PAYMENT: 60}
"""Insurance Law limits in calendar days: arts. 23 (30 and 10), 24 (3), 25 (60)."""

TRIGGERS = TRIGGER_CLOCKS
"""Clocks whose end is not a breach but a duty: art. 25 asks for an advance payment (one set with
``claims.models.TRIGGER_CLOCKS``, which step results use; ``ART25_ADVANCE_PAYMENT`` is in it)."""

WARNINGS = (50, 80)
"""Warning thresholds, in percent of a clock's time (wall-clock fraction from start to deadline)."""

Log = Callable[[str, Actor, str], None]


class ClockEvent:
    """The next thing a clock will do: warn (50 / 80), breach, trigger, or end a capped pause."""

    def __init__(self, at: datetime, clock: str, kind: str, percent: int = 0) -> None:
        self.at, self.clock, self.kind, self.percent = at, clock, kind, percent


def _fmt(dt: datetime) -> str:
    return dt.isoformat(timespec="minutes")


class SlaClocks:
    """The clocks of one claim. Workflow code only: deadlines come from calendar activities.

    Args:
        log: the workflow's timeline writer ``log(event, actor, detail)``.
    """

    def __init__(self, log: Log) -> None:
        self._log = log
        self.clocks: dict[str, SlaClock] = {}
        self.changes = 0
        self.calendar_version: str | None = None
        self.policy_version: str | None = None

    # ------------------------------------------------------------------ starting and stopping

    async def start_programme(
        self, name: str, start: datetime, working_days: int, *, keep_pause: bool = False
    ) -> None:
        """Start (or restart with a new target) a working-day clock from ``start``.

        Args:
            name: the clock (``registration``, ``resolution``).
            start: when the target's working days start counting (aware UTC).
            working_days: the target (working days); the working days already paused on the
                clock are added to it.
            keep_pause: a restarted clock that is paused now (waiting on the claimant's
                documents) stays paused: same ``paused_since``, reason and pause cap. False
                (claims that ran before ``workflow.patched("reclassify-keeps-pause")``) starts
                it running, as those histories recorded.
        """
        previous = self.clocks.get(name)
        paused = previous.paused_working_days if previous else 0
        deadline = await self._working_deadline(start, working_days + paused)
        pause: dict[str, Any] = {}
        if keep_pause and previous is not None and previous.open and previous.paused_since is not None:
            pause = {
                "paused_since": previous.paused_since,
                "pause_reason": previous.pause_reason,
                "pause_cap_at": previous.pause_cap_at,
            }
        self._set(
            name,
            SlaClock(
                name=name,
                target_working_days=working_days,
                deadline=deadline,
                breached=previous.breached if previous else False,
                paused_working_days=paused,
                warned=previous.warned if previous else [],
                **pause,
            ),
        )
        provisional = " (provisional: no published holiday schedule)" if deadline.provisional else ""
        if previous is None:
            self._log(
                "sla_started",
                SYSTEM,
                f"{name}: {working_days} working days from {_fmt(start)} UTC, due "
                f"{_fmt(deadline.due_at)} UTC{provisional}; calendar {deadline.calendar_version}; "
                f"policy {self.policy_version}",
            )
        else:
            self._log(
                "sla_recomputed",
                SYSTEM,
                f"{name}: target {previous.target_working_days} -> {working_days} working days, due "
                f"{_fmt(previous.deadline.due_at)} -> {_fmt(deadline.due_at)} UTC{provisional}; "
                f"calendar {deadline.calendar_version}; policy {self.policy_version}",
            )

    async def start_statutory(self, name: str, start: datetime) -> None:
        """Start an Insurance Law clock of ``STATUTORY_DAYS[name]`` calendar days from ``start``."""
        days = STATUTORY_DAYS[name]
        deadline = await self._statutory_deadline(start, days)
        self._set(
            name,
            SlaClock(
                name=name,
                target_working_days=0,
                calendar_days=days,
                deadline=deadline,
                kind=ClockKind.STATUTORY,
            ),
        )
        self._log(
            "sla_started",
            SYSTEM,
            f"{name}: {days} calendar days from {_fmt(start)} UTC (Civil Code counting), due "
            f"{deadline.due_date} (ends {_fmt(deadline.due_at)} UTC); calendar {deadline.calendar_version}",
        )

    def stop(self, name: str, now: datetime) -> None:
        """Stop a clock (its event happened); records whether its target was met."""
        clock = self.clocks.get(name)
        if clock is None or clock.stopped_at is not None:
            return
        met = not clock.breached and now <= clock.deadline.due_at
        self._set(name, clock.model_copy(update={"stopped_at": now, "paused_since": None}))
        self._log("sla_stopped", SYSTEM, f"{name} clock stopped, target {'met' if met else 'missed'}")

    # ------------------------------------------------------------------ pause (waiting on the claimant)

    async def pause(self, name: str, now: datetime, reason: str, cap_working_days: int) -> None:
        """Pause a programme clock while waiting on the claimant; ``reason`` is required.

        The pause counts at most ``cap_working_days`` in all: at the cap the clock runs again.
        """
        clock = self.clocks.get(name)
        if (
            clock is None
            or not clock.open
            or clock.paused_since is not None
            or clock.kind != ClockKind.PROGRAMME
        ):
            return
        remaining = max(0, cap_working_days - clock.paused_working_days)
        cap_at = (await self._working_deadline(now, remaining)).due_at
        self._set(
            name,
            clock.model_copy(update={"paused_since": now, "pause_reason": reason, "pause_cap_at": cap_at}),
        )
        self._log(
            "sla_paused",
            SYSTEM,
            f"{name} paused: {reason}; {clock.paused_working_days} of {cap_working_days} working days "
            f"of pause used; the clock runs again at the latest {_fmt(cap_at)} UTC",
        )

    async def resume(self, name: str, now: datetime, cap_working_days: int, why: str) -> None:
        """End a pause: the paused working days (capped) move the deadline later."""
        clock = self.clocks.get(name)
        if clock is None or clock.paused_since is None:
            return
        counted = await _calendar(
            CalendarActivities.count_working_days, WorkingDaysRequest(start=clock.paused_since, end=now)
        )
        total = min(cap_working_days, clock.paused_working_days + counted.working_days)
        deadline = await self._working_deadline(clock.deadline.start, clock.target_working_days + total)
        self._set(
            name,
            clock.model_copy(
                update={
                    "paused_since": None,
                    "pause_cap_at": None,
                    "paused_working_days": total,
                    "deadline": deadline,
                }
            ),
        )
        self._log(
            "sla_resumed",
            SYSTEM,
            f"{name} runs again ({why}): paused {counted.working_days} working day(s), "
            f"{total} counted in all (cap {cap_working_days}); due {_fmt(clock.deadline.due_at)} -> "
            f"{_fmt(deadline.due_at)} UTC",
        )

    # ------------------------------------------------------------------ a new holiday schedule

    async def recompute(self, calendar_version: str, actor: Actor) -> None:
        """Recompute every open clock's deadline after a holiday schedule was loaded.

        Each changed deadline is recorded with its old and new value and the calendar version.
        """
        changed = 0
        for name, clock in list(self.clocks.items()):
            if not clock.open:
                continue
            if clock.kind == ClockKind.STATUTORY:
                deadline = await self._statutory_deadline(clock.deadline.start, clock.calendar_days or 0)
            else:
                deadline = await self._working_deadline(
                    clock.deadline.start, clock.target_working_days + clock.paused_working_days
                )
            if (deadline.due_at, deadline.provisional) != (clock.deadline.due_at, clock.deadline.provisional):
                changed += 1
                self._set(name, clock.model_copy(update={"deadline": deadline}))
                self._log(
                    "sla_recomputed",
                    actor,
                    f"{name}: due {_fmt(clock.deadline.due_at)} -> {_fmt(deadline.due_at)} UTC"
                    f"{' (still provisional)' if deadline.provisional else ''}; calendar "
                    f"{clock.deadline.calendar_version} -> {deadline.calendar_version}",
                )
        if not changed:
            self._log("sla_recomputed", actor, f"calendar {calendar_version} loaded: no deadline changed")

    # ------------------------------------------------------------------ what happens next

    def next_event(self) -> ClockEvent | None:
        """The earliest pending warning, breach, trigger or pause cap of the open clocks."""
        events: list[ClockEvent] = []
        for clock in self.clocks.values():
            if not clock.open:
                continue
            if clock.paused_since is not None:
                if clock.pause_cap_at is not None:
                    events.append(ClockEvent(clock.pause_cap_at, clock.name, "pause_cap"))
                continue
            start, due = clock.deadline.start, clock.deadline.due_at
            if clock.name not in TRIGGERS:
                for pct in WARNINGS:
                    if pct not in clock.warned:
                        events.append(
                            ClockEvent(start + (due - start) * pct / 100, clock.name, "warning", pct)
                        )
            events.append(ClockEvent(due, clock.name, "trigger" if clock.name in TRIGGERS else "breach"))
        return min(events, key=lambda e: (e.at, e.percent == 0), default=None)

    def mark_warned(self, name: str, percent: int) -> SlaClock:
        """Record a warning at ``percent`` of a clock's time."""
        clock = self.clocks[name]
        self._set(name, clock.model_copy(update={"warned": sorted({*clock.warned, percent})}))
        self._log(
            "sla_warning",
            SYSTEM,
            f"{name}: {percent}% of the time used; due {_fmt(clock.deadline.due_at)} UTC",
        )
        return self.clocks[name]

    def mark_breached(self, name: str) -> SlaClock:
        """Record a breach: the deadline passed with the clock still running."""
        clock = self.clocks[name]
        self._set(name, clock.model_copy(update={"breached": True}))
        target = (
            f"{clock.calendar_days} calendar days"
            if clock.kind == ClockKind.STATUTORY
            else f"{clock.target_working_days} working days"
        )
        self._log(
            "sla_breached",
            SYSTEM,
            f"{name} target of {target} passed its deadline {_fmt(clock.deadline.due_at)} UTC; "
            "escalated to the supervisor",
        )
        return self.clocks[name]

    def state(self) -> SlaState:
        """Breached if any clock breached, at risk if any open clock passed 80 %, met when all stopped."""
        clocks = [c for c in self.clocks.values() if c.name not in TRIGGERS]
        if any(c.breached for c in clocks):
            return SlaState.BREACHED
        if any(c.open and 80 in c.warned for c in clocks):
            return SlaState.AT_RISK
        if clocks and all(c.stopped_at is not None for c in clocks):
            return SlaState.MET
        return SlaState.ON_TRACK

    def current(self) -> SlaClock | None:
        """The open clock due first (the claim's SLA deadline for supervisors)."""
        open_clocks = [c for c in self.clocks.values() if c.open and c.name not in TRIGGERS]
        return min(open_clocks, key=lambda c: c.deadline.due_at, default=None)

    # ------------------------------------------------------------------ internals

    def _set(self, name: str, clock: SlaClock) -> None:
        self.clocks[name] = clock
        self.calendar_version = clock.deadline.calendar_version
        self.changes += 1

    async def _working_deadline(self, start: datetime, working_days: int) -> Deadline:
        return await _calendar(
            CalendarActivities.compute_deadline, DeadlineRequest(start=start, working_days=working_days)
        )

    async def _statutory_deadline(self, start: datetime, days: int) -> Deadline:
        return await _calendar(
            CalendarActivities.compute_statutory_deadline,
            StatutoryDeadlineRequest(start=start, calendar_days=days),
        )
