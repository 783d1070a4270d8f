"""The web console's reads: a person's inbox by deadline window, paginated, one claim's
summary row (insured name, place, outcome) for the claim page's header, and the documents
still missing on a page of claims (for the village secretary's list).

One job: answer the console's list and header reads from the SQL projection (``claims``
joined with the register's insured person for the name), scoped by the reader's county and
village **in the query** as ``claims.services.views`` does: a claim outside the scope is
``ClaimNotFound``, a list never carries a row from elsewhere. Deadline windows are computed on
the working-day calendar given (Asia/Shanghai); the SQL is ``claims.store.inbox``'s (the five
tab counts in one query, then the page). Only :func:`missing_documents_of` reaches
Temporal (the claims' state queries: the projection does not hold the checklist).

Who sees which open claims: a handler the claims assigned to them and the county's
unassigned new reports; an investigator the claims under investigation; a supervisor, an
auditor and a village secretary every open claim of their scope (the secretary's is the
village).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from dataclasses import dataclass

from claims.domain.timeutil import SHANGHAI
from claims.domain.workdays import WorkingCalendar
from claims.errors import ClaimNotFound, ClaimsError
from claims.models import Actor, ClaimState, Role, Stage
from claims.services.context import Services
from claims.services.views import claim_view, scope_of
from claims.store.db import unit_of_work
from claims.store.inbox import InboxRow, InboxView, Reader, Windows, claim_row, view_counts, view_rows

__all__ = [
    "InboxPage",
    "InboxRow",
    "InboxView",
    "Windows",
    "claim_summary",
    "inbox_page",
    "missing_documents",
    "missing_documents_of",
    "reader_of",
    "windows",
]

PER_PAGE = 50
"""Rows of an inbox page."""

CLAIM_NUMBER_LEN = 48
"""Longest claim number (``claims.claim_number``, ``String(48)``)."""

UPCOMING_WORKING_DAYS = 2
"""The "upcoming" view: due after today, within this many working days."""


@dataclass(frozen=True)
class InboxPage:
    """A page of one view, with the number of claims in every view (for the tabs)."""

    view: InboxView
    rows: list[InboxRow]
    page: int
    pages: int
    total: int
    counts: dict[InboxView, int]


def reader_of(actor: Actor) -> Reader:
    """Whose open claims the actor's inbox holds (module docstring): the scope, and a
    handler's own or unassigned claims, an investigator's claims under investigation."""
    if actor.role == Role.HANDLER:
        return Reader(scope_of(actor), handler=actor.id)
    if actor.role == Role.INVESTIGATOR:
        return Reader(scope_of(actor), stage=Stage.INVESTIGATION.value)
    return Reader(scope_of(actor))


def windows(now: dt.datetime, cal: WorkingCalendar) -> Windows:
    """The view boundaries at ``now`` (aware) on ``cal``."""
    today = now.astimezone(SHANGHAI).date()
    midnight = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(0), tzinfo=SHANGHAI)
    day, found = today, 0
    while found < UPCOMING_WORKING_DAYS:  # the n-th working day after today
        day += dt.timedelta(days=1)
        found += cal.is_working_day(day)
    horizon = dt.datetime.combine(day, cal.closing_time, tzinfo=SHANGHAI).astimezone(dt.UTC)
    return Windows(now=now, end_of_today=midnight.astimezone(dt.UTC), horizon=horizon)


def inbox_page(
    services: Services,
    actor: Actor,
    view: InboxView,
    now: dt.datetime,
    cal: WorkingCalendar,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> InboxPage:
    """One page of the reader's open claims in ``view``, earliest deadline first (claims
    without a deadline last, then by report time); ``page`` past the end gives the last page.
    Two queries: the five views' counts at once (``claims.store.inbox.view_counts``), then the
    page."""
    w = windows(now, cal)
    reader = reader_of(actor)
    with unit_of_work(services.sessions) as session:
        counts = view_counts(session, reader, w)
        total = counts[view]
        pages = max(1, math.ceil(total / per_page))
        page = min(max(1, page), pages)
        rows = view_rows(session, reader, view, w, per_page, (page - 1) * per_page)
    return InboxPage(view=view, rows=rows, page=page, pages=pages, total=total, counts=counts)


def claim_summary(services: Services, actor: Actor, claim_number: str) -> InboxRow:
    """The claim's projection row with the insured's name, if the reader's scope holds it.

    Raises:
        claims.errors.ClaimNotFound: no such claim, or none in the reader's scope (the same
            answer for both).
    """
    if not 0 < len(claim_number) <= CLAIM_NUMBER_LEN:  # no such column value: not found, unasked
        raise ClaimNotFound(claim_number[:CLAIM_NUMBER_LEN])
    with unit_of_work(services.sessions) as session:
        row = claim_row(session, scope_of(actor), claim_number)
    if row is None:
        raise ClaimNotFound(claim_number)
    return row


def missing_documents(state: ClaimState) -> list[str]:
    """The claim's checklist and requested documents neither received nor waived, in
    checklist order."""
    got = set(state.documents_received)
    waived = {w.document for w in state.documents_waived}
    needed = list(dict.fromkeys(state.documents_required + state.documents_requested))
    return [d for d in needed if d not in got and d not in waived]


MISSING_TIMEOUT = 3.0
"""Seconds the list waits for the claims' state queries before showing them as unknown."""


async def missing_documents_of(
    services: Services, actor: Actor, claim_numbers: list[str], timeout: float = MISSING_TIMEOUT
) -> dict[str, list[str] | None]:
    """The documents still missing on each claim (the claims' state queries, at once); None
    for a claim whose state did not answer within ``timeout`` or is out of the reader's scope."""

    async def one(number: str) -> list[str] | None:
        try:
            return missing_documents(await asyncio.wait_for(claim_view(services, actor, number), timeout))
        except (ClaimsError, TimeoutError):  # asyncio's is the builtin
            return None

    answers = await asyncio.gather(*(one(n) for n in claim_numbers))
    return dict(zip(claim_numbers, answers, strict=True))
