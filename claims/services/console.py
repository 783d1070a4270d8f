"""The web console's reads: a person's inbox by deadline window, paginated, one claim's
summary row (insured name, place, outcome) for the claim page's header, and the documents
still missing on a page of claims (for the village secretary's list).

One job: answer the console's list and header reads from the SQL projection (``claims``
joined with the register's insured person for the name), scoped by the reader's county and
village **in the query** as ``claims.services.views`` does: a claim outside the scope is
``ClaimNotFound``, a list never carries a row from elsewhere. Deadline windows are computed on
the working-day calendar given (Asia/Shanghai). Only :func:`missing_documents_of` reaches
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
from enum import StrEnum

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from claims.domain.timeutil import SHANGHAI
from claims.domain.workdays import WorkingCalendar
from claims.errors import ClaimNotFound, ClaimsError
from claims.models import Actor, ClaimState, Role, Stage
from claims.services.context import Services
from claims.services.views import claim_view, scope_of
from claims.store.db import Claim, InsuredPerson, unit_of_work
from claims.store.reports import OPEN, Scope

PER_PAGE = 50
"""Rows of an inbox page."""

CLAIM_NUMBER_LEN = 48
"""Longest claim number (``claims.claim_number``, ``String(48)``)."""

UPCOMING_WORKING_DAYS = 2
"""The "upcoming" view: due after today, within this many working days."""


class InboxView(StrEnum):
    """The inbox's views (``/inbox?view=``)."""

    OVERDUE = "overdue"  # 已超期: deadline passed or SLA breached
    TODAY = "today"  # 今日到期: due by today's close
    UPCOMING = "upcoming"  # 即将到期: due within two working days after today
    ALL = "all"  # 全部: every open claim the reader works on
    NEW = "new"  # 待立案: the scope's new reports no handler has taken


@dataclass(frozen=True)
class InboxRow:
    """One line of the inbox (times aware UTC). ``insured_name`` is the register's full name:
    the console masks it."""

    claim_number: str
    insured_name: str
    county: str
    township: str
    village: str
    stage: str
    outcome: str
    assigned_handler: str | None
    green_channel: bool
    sla_state: str
    sla_deadline: dt.datetime | None
    reported_at: dt.datetime


@dataclass(frozen=True)
class InboxPage:
    """A page of one view, with the number of claims in every view (for the tabs)."""

    view: InboxView
    rows: list[InboxRow]
    page: int
    pages: int
    total: int
    counts: dict[InboxView, int]


_COLUMNS = (
    Claim.claim_number,
    InsuredPerson.name,
    Claim.county,
    Claim.township,
    Claim.village,
    Claim.stage,
    Claim.outcome,
    Claim.assigned_handler,
    Claim.green_channel,
    Claim.sla_state,
    Claim.sla_deadline,
    Claim.reported_at,
)


def _in_scope(q: Select, scope: Scope) -> Select:  # type: ignore[type-arg]
    if scope.county is not None:
        q = q.where(Claim.county == scope.county)
    if scope.village is not None:
        q = q.where(Claim.village == scope.village)
    return q


def _readers_claims(q: Select, actor: Actor) -> Select:  # type: ignore[type-arg]
    """``q`` limited to the open claims the reader works on (scope and role)."""
    q = _in_scope(q.where(OPEN), scope_of(actor))
    if actor.role == Role.HANDLER:
        q = q.where((Claim.assigned_handler == actor.id) | (Claim.assigned_handler.is_(None)))
    elif actor.role == Role.INVESTIGATOR:
        q = q.where(Claim.stage == Stage.INVESTIGATION.value)
    return q


@dataclass(frozen=True)
class Windows:
    """The instants that split the deadline views: ``now``, the end of today (Asia/Shanghai
    midnight) and the upcoming horizon (the close of the second working day after today)."""

    now: dt.datetime
    end_of_today: dt.datetime
    horizon: dt.datetime


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


def _view(q: Select, view: InboxView, w: Windows) -> Select:  # type: ignore[type-arg]
    not_breached = Claim.sla_state != "breached"
    if view == InboxView.OVERDUE:
        return q.where((Claim.sla_deadline < w.now) | (Claim.sla_state == "breached"))
    if view == InboxView.TODAY:
        return q.where(Claim.sla_deadline >= w.now, Claim.sla_deadline < w.end_of_today, not_breached)
    if view == InboxView.UPCOMING:
        return q.where(
            Claim.sla_deadline >= w.end_of_today, Claim.sla_deadline <= w.horizon, not_breached
        )
    if view == InboxView.NEW:
        return q.where(Claim.stage == Stage.REPORTED.value, Claim.assigned_handler.is_(None))
    return q


def _count(session: Session, actor: Actor, view: InboxView, w: Windows) -> int:
    q = _view(_readers_claims(select(func.count()).select_from(Claim), actor), view, w)
    return int(session.execute(q).scalar_one())


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
    without a deadline last, then by report time); ``page`` past the end gives the last page."""
    w = windows(now, cal)
    with unit_of_work(services.sessions) as session:
        counts = {v: _count(session, actor, v, w) for v in InboxView}
        total = counts[view]
        pages = max(1, math.ceil(total / per_page))
        page = min(max(1, page), pages)
        q = select(*_COLUMNS).join(InsuredPerson, InsuredPerson.id == Claim.person_id)
        q = _view(_readers_claims(q, actor), view, w)
        q = q.order_by(
            Claim.sla_deadline.is_(None), Claim.sla_deadline.asc(), Claim.reported_at.asc(), Claim.claim_number
        )
        rows = [InboxRow(*r) for r in session.execute(q.limit(per_page).offset((page - 1) * per_page))]
    return InboxPage(view=view, rows=rows, page=page, pages=pages, total=total, counts=counts)


def claim_summary(services: Services, actor: Actor, claim_number: str) -> InboxRow:
    """The claim's projection row with the insured's name, if the reader's scope holds it.

    Raises:
        claims.errors.ClaimNotFound: no such claim, or none in the reader's scope (the same
            answer for both).
    """
    if not 0 < len(claim_number) <= CLAIM_NUMBER_LEN:  # no such column value: not found, unasked
        raise ClaimNotFound(claim_number[:CLAIM_NUMBER_LEN])
    q = select(*_COLUMNS).join(InsuredPerson, InsuredPerson.id == Claim.person_id)
    q = _in_scope(q.where(Claim.claim_number == claim_number), scope_of(actor))
    with unit_of_work(services.sessions) as session:
        row = session.execute(q).first()
    if row is None:
        raise ClaimNotFound(claim_number)
    return InboxRow(*row)


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
        except (ClaimsError, TimeoutError, asyncio.TimeoutError):
            return None

    answers = await asyncio.gather(*(one(n) for n in claim_numbers))
    return dict(zip(claim_numbers, answers, strict=True))
