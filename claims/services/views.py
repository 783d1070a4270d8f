"""Views of claims for a person: one claim's state, the task list (inbox), the overdue list.

One job: answer "what may I see" reads, scoped by the reader's county and village **in SQL**
(``claims.store.reports``): a claim outside the reader's scope is ``ClaimNotFound``, exactly
as a claim that does not exist, and lists never carry rows from elsewhere. A reader given as
None is the command line's unidentified reader (no ``--actor``), unscoped as the command line
has always been; the web console always gives an ``Actor``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio.service import RPCError, RPCStatusCode

from claims.audit import HistoryError, visibility_literal
from claims.domain.workdays import WorkingCalendar
from claims.errors import ClaimNotFound, Unavailable
from claims.models import Actor, ClaimState
from claims.services.client import claim_state
from claims.services.context import Services
from claims.services.errors import Refused
from claims.store.db import unit_of_work
from claims.store.reports import EVERYWHERE, ClaimRow, OverdueFilter, Scope, claim_in_scope, open_claims
from claims.store.reports import overdue_claims as overdue_rows


__all__ = [
    "ClaimRow",  # the rows the views return, and the overdue filter, for callers of the views
    "FilterRefused",
    "NoQueryAnswer",
    "OverdueClaim",
    "OverdueFilter",
    "claim_view",
    "inbox",
    "overdue",
    "overdue_visibility_query",
    "scope_of",
    "working_days_late",
]


class FilterRefused(Refused):
    """A filter value that cannot go into a visibility query; ``field`` is its label and the
    message, as ``claims.audit.visibility_literal`` words it, already names it."""

    code = "filter.refused"


class NoQueryAnswer(Unavailable):
    """No worker answered a claim's state query in time (a query is answered by a worker);
    the claim's history can still be read with the audit. ``params``: claim_number, detail."""

    code = "claim.no_answer"


def scope_of(actor: Actor | None) -> Scope:
    """The reader's scope: the actor's county and village (None: unscoped)."""
    return EVERYWHERE if actor is None else Scope(county=actor.county, village=actor.village)


async def claim_view(services: Services, actor: Actor | None, claim_number: str) -> ClaimState:
    """One claim's state (the workflow's Query), if the reader may see it.

    A scoped reader's claim must be in the store's projection within the scope; an
    unscoped reader asks Temporal directly (a claim reported elsewhere is still found).

    Raises:
        claims.errors.ClaimNotFound: no such claim, or none in the reader's scope.
        NoQueryAnswer: no worker answered the query (exit 3 at the command line).
        claims.errors.Unavailable: Temporal does not answer at all.
    """
    scope = scope_of(actor)
    if scope != EVERYWHERE:
        with unit_of_work(services.sessions) as session:
            row = claim_in_scope(session, claim_number, scope)
        if row is None:
            raise ClaimNotFound(claim_number)
    client = await services.client()
    try:
        return await claim_state(client, claim_number)
    except RPCError as e:
        no_answer = (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.UNAVAILABLE, RPCStatusCode.CANCELLED)
        if e.status not in no_answer:
            raise
        raise NoQueryAnswer(
            f"no worker answered the query for {claim_number} ({e.message})",
            params={"claim_number": claim_number, "detail": e.message},
        ) from None


def inbox(services: Services, actor: Actor | None, handler: str | None) -> list[ClaimRow]:
    """Open claims in the reader's scope, earliest deadline first: those of ``handler`` and
    the claims no handler has registered yet (every handler may take them); all open
    claims when ``handler`` is None."""
    with unit_of_work(services.sessions) as session:
        return open_claims(session, scope_of(actor), handler)


@dataclass(frozen=True)
class OverdueClaim:
    """A row of the overdue list with the working days it is late (0: not yet due)."""

    row: ClaimRow
    working_days_late: int


def working_days_late(cal: WorkingCalendar, deadlines: list[datetime | None], now: datetime) -> list[int]:
    """Working days each deadline is past ``now`` (0 when not yet due or unset), computed once
    per distinct deadline: most claims share a closing-hour deadline."""
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


def overdue(
    services: Services,
    actor: Actor | None,
    cal: WorkingCalendar,
    now: datetime,
    due_within: timedelta | None = None,
    where: OverdueFilter = OverdueFilter(),
) -> list[OverdueClaim]:
    """Open claims in the reader's scope that breached their SLA or are stuck, or fall due
    before ``now + due_within``; most late first, each with its working days late on ``cal``."""
    with unit_of_work(services.sessions) as session:
        rows = overdue_rows(session, scope_of(actor), now, due_within, where)
    late = working_days_late(cal, [r.sla_deadline for r in rows], now)
    return [OverdueClaim(r, n) for r, n in zip(rows, late, strict=True)]


FILTER_LABELS: Mapping[str, str] = {"county": "county", "township": "township", "handler": "handler"}
"""How :func:`overdue_visibility_query` names a refused filter value (the command line names
its options: ``--county``)."""


def overdue_visibility_query(
    where: OverdueFilter,
    now: datetime,
    due_within: timedelta | None = None,
    labels: Mapping[str, str] = FILTER_LABELS,
) -> str:
    """The overdue filter as a Temporal visibility query (for the web UI), saying exactly the
    filter given: running claims breached or stuck, or due before ``now + due_within``. A paid
    or declined claim's workflow stays *Running* through its reopen period (SLA policy
    ``reopen_calendar_days``), so the query leaves out the stages ``closed`` and ``declined``.

    Raises:
        FilterRefused: a filter value with a quote, backslash or control character (an
            ``InputError``; ``field``: the label of the value).
    """
    given = (
        ("ClaimCounty", "county", where.county),
        ("ClaimTownship", "township", where.township),
        ("AssignedHandler", "handler", where.handler),
    )
    clauses = ["ExecutionStatus = 'Running'", "ClaimStage != 'closed'", "ClaimStage != 'declined'"]
    horizon = now + (due_within or timedelta(0))
    clauses.append(
        f"(SlaState IN ('breached', 'stuck') OR SlaDeadline <= '{horizon.strftime('%Y-%m-%dT%H:%M:%SZ')}')"
    )
    for attr, name, value in given:
        if not value:
            continue
        try:
            clauses.append(f"{attr} = {visibility_literal(value, labels[name])}")
        except HistoryError as e:
            raise FilterRefused(labels[name], str(e)) from None
    if where.green_channel is not None:
        clauses.append(f"GreenChannel = {'true' if where.green_channel else 'false'}")
    return " AND ".join(clauses)
