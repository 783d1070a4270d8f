"""Read queries of the reporting projection for a county supervisor's page (``/supervise``).

One job: the SQL behind the supervisor's counters, the table by township × handler, the
filtered claim list, the county's handlers (the ``users`` table) and the rows the charts
count (payouts by township and month, claims closed within their target), every query
limited to the reader's scope **in the query** (``claims.store.reports.Scope``). Read only:
nothing here writes or commits; the caller's unit of work ends the read transaction.

What the SLA words mean in SQL (``now`` and ``horizon`` are given by the caller):

* overdue (breached): an open claim whose deadline passed or whose SLA state is ``breached``
  (the inbox's "overdue" view says the same);
* at risk: an open claim not overdue whose engine state is ``at_risk`` (80 % of its target
  used) **or** whose deadline falls before ``horizon`` (the caller passes the close of the
  next working day: due within one working day);
* stuck: an open claim with a store step that keeps failing (``stuck_activity`` set);
* green channel: an open claim on the green channel.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, Select, and_, case, false, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from claims.models import Role, Stage
from claims.store.db import Claim, InsuredPerson, Payout, User, UtcDateTime
from claims.store.reports import OPEN, Scope


@dataclass(frozen=True)
class Windows:
    """The instants the SLA words are measured at (aware UTC): ``now`` and the at-risk
    ``horizon`` (the close of the next working day)."""

    now: dt.datetime
    horizon: dt.datetime


@dataclass(frozen=True)
class ListFilter:
    """Filters of the supervisor's claim list; None or False: no filter.

    ``sla``: ``breached``, ``at_risk`` or ``stuck`` (``paused`` is a fact, below).
    ``facts``: each ``(fact, asked)`` keeps the claims whose projection says ``fact``
    (``paused``, ``approval``, ``review:<queue>``: :func:`fact_condition`) or whose number is in
    ``asked`` (claims without the columns whose state said so; at most a few hundred), so the
    claims the projection knows are filtered in SQL, never listed one by one.
    ``numbers``: only these claims (the documents still to check).
    """

    sla: str | None = None
    green: bool = False
    township: str | None = None
    handler: str | None = None
    numbers: Collection[str] | None = None
    facts: tuple[tuple[str, Collection[str]], ...] = ()


def fact_condition(fact: str) -> ColumnElement[bool]:
    """The projection's condition for a supervisor's fact (see :class:`ListFilter`).

    Raises:
        KeyError: an unknown fact.
    """
    if fact == "paused":
        return and_(Claim.stage == Stage.DOCUMENTS.value, Claim.paused.is_(True))
    if fact == "approval":
        return and_(Claim.stage == Stage.PAYOUT.value, Claim.awaiting_approval.is_(True))
    if fact.startswith("review:"):
        return and_(Claim.stage == Stage.PAYOUT.value, Claim.review_queue == fact.removeprefix("review:"))
    raise KeyError(fact)


@dataclass(frozen=True)
class SuperviseRow:
    """One claim of the supervisor's list (times aware UTC; ``insured_name`` unmasked: the
    console masks it)."""

    claim_number: str
    insured_name: str
    township: str
    village: str
    stage: str
    assigned_handler: str | None
    green_channel: bool
    sla_state: str
    sla_deadline: dt.datetime | None
    stuck_activity: str | None


@dataclass(frozen=True)
class TeamLine:
    """A line of the table by township × handler (``handler`` None: not yet assigned)."""

    township: str
    handler: str | None
    open: int
    overdue: int
    at_risk: int


@dataclass(frozen=True)
class Counts:
    """The counters the projection answers alone."""

    open: int
    overdue: int
    at_risk: int
    stuck: int
    green: int


@dataclass(frozen=True)
class PaidLine:
    """One payout row for the charts (``paid_at`` aware UTC)."""

    claim_number: str
    township: str
    amount: Decimal
    paid_at: dt.datetime


@dataclass(frozen=True)
class ClosedLine:
    """A claim closed or declined, when (payment or decision, aware UTC), and its SLA state."""

    claim_number: str
    closed_at: dt.datetime
    sla_state: str


def _in_scope(q: Select, scope: Scope) -> Select:  # type: ignore[type-arg]
    if scope.county is not None:
        q = q.where(Claim.county == scope.county)
    if scope.village is not None:
        q = q.where(Claim.village == scope.village)
    return q


def overdue_condition(w: Windows) -> ColumnElement[bool]:
    """Overdue (breached): deadline passed or SLA state ``breached``."""
    return or_(Claim.sla_deadline < w.now, Claim.sla_state == "breached")


def at_risk_condition(w: Windows) -> ColumnElement[bool]:
    """At risk: not overdue, and 80 % of the target used or due before ``horizon``."""
    not_late = and_(
        Claim.sla_state != "breached", or_(Claim.sla_deadline.is_(None), Claim.sla_deadline >= w.now)
    )
    return and_(not_late, or_(Claim.sla_state == "at_risk", Claim.sla_deadline <= w.horizon))


def stuck_condition() -> ColumnElement[bool]:
    """Stuck: a store step keeps failing."""
    return or_(Claim.stuck_activity.is_not(None), Claim.sla_state == "stuck")


def _flag(cond: ColumnElement[bool]):  # type: ignore[no-untyped-def]
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def counts(session: Session, scope: Scope, w: Windows) -> Counts:
    """The open claims of ``scope`` and how many are overdue, at risk, stuck, green channel."""
    q = select(
        func.count(),
        _flag(overdue_condition(w)),
        _flag(at_risk_condition(w)),
        _flag(stuck_condition()),
        _flag(Claim.green_channel.is_(True)),
    ).select_from(Claim)
    row = session.execute(_in_scope(q.where(OPEN), scope)).one()
    return Counts(*(int(v) for v in row))


def open_numbers_at(
    session: Session, scope: Scope, stage: Stage, limit: int, *, facts_unknown: bool = False
) -> list[str]:
    """Numbers of the open claims of ``scope`` at ``stage`` (at most ``limit``, oldest report
    first); with ``facts_unknown``, only those whose projection does not carry the supervisor's
    facts (``claims.paused`` NULL: started before ``lean-history``)."""
    q = _in_scope(select(Claim.claim_number).where(Claim.stage == stage.value), scope)
    if facts_unknown:
        q = q.where(Claim.paused.is_(None))
    q = q.order_by(Claim.reported_at, Claim.claim_number).limit(limit)
    return list(session.execute(q).scalars())


def known_facts(session: Session, scope: Scope, facts: Sequence[str]) -> dict[str, list[str]]:
    """For each of ``facts`` (:func:`fact_condition`'s names), the numbers of the open claims of
    ``scope`` whose projection says so (claims since ``lean-history``), oldest report first, in
    one read. Claims whose columns are NULL are in none: :func:`open_numbers_at` with
    ``facts_unknown`` lists them."""
    conds = [fact_condition(f) for f in facts]
    q = _in_scope(select(Claim.claim_number, *conds).where(or_(*conds)), scope)
    found: dict[str, list[str]] = {f: [] for f in facts}
    for number, *flags in session.execute(q.order_by(Claim.reported_at, Claim.claim_number)):
        for fact, flag in zip(facts, flags, strict=True):
            if flag:
                found[fact].append(number)
    return found


def team_table(session: Session, scope: Scope, w: Windows) -> list[TeamLine]:
    """Open claims by township × handler with how many are overdue and at risk, by township
    then handler (unassigned last in each township)."""
    q = select(
        Claim.township,
        Claim.assigned_handler,
        func.count(),
        _flag(overdue_condition(w)),
        _flag(at_risk_condition(w)),
    ).select_from(Claim)
    q = _in_scope(q.where(OPEN), scope).group_by(Claim.township, Claim.assigned_handler)
    q = q.order_by(Claim.township, Claim.assigned_handler.is_(None), Claim.assigned_handler)
    return [TeamLine(t, h, int(n), int(o), int(r)) for t, h, n, o, r in session.execute(q)]


def _filtered(q: Select, scope: Scope, f: ListFilter, w: Windows) -> Select:  # type: ignore[type-arg]
    q = _in_scope(q.where(OPEN), scope)
    if f.sla == "breached":
        q = q.where(overdue_condition(w))
    elif f.sla == "at_risk":
        q = q.where(at_risk_condition(w))
    elif f.sla == "stuck":
        q = q.where(stuck_condition())
    if f.green:
        q = q.where(Claim.green_channel.is_(True))
    if f.township:
        q = q.where(Claim.township == f.township)
    if f.handler:
        q = q.where(Claim.assigned_handler == f.handler)
    if f.numbers is not None:
        q = q.where(Claim.claim_number.in_(list(f.numbers))) if f.numbers else q.where(false())
    for fact, asked in f.facts:
        cond = fact_condition(fact)
        q = q.where(or_(cond, Claim.claim_number.in_(list(asked))) if asked else cond)
    return q


def claim_list(
    session: Session, scope: Scope, f: ListFilter, w: Windows, limit: int, offset: int = 0
) -> tuple[int, list[SuperviseRow]]:
    """The open claims of ``scope`` that pass ``f``, earliest deadline first (claims without
    one last): how many in all, and the rows from ``offset`` (at most ``limit``)."""
    total = int(session.execute(_filtered(select(func.count()).select_from(Claim), scope, f, w)).scalar_one())
    q = select(
        Claim.claim_number,
        InsuredPerson.name,
        Claim.township,
        Claim.village,
        Claim.stage,
        Claim.assigned_handler,
        Claim.green_channel,
        Claim.sla_state,
        Claim.sla_deadline,
        Claim.stuck_activity,
    ).join(InsuredPerson, InsuredPerson.id == Claim.person_id)
    q = _filtered(q, scope, f, w).order_by(
        Claim.sla_deadline.is_(None), Claim.sla_deadline.asc(), Claim.reported_at.asc(), Claim.claim_number
    )
    return total, [SuperviseRow(*r) for r in session.execute(q.limit(limit).offset(offset))]


def scope_numbers(session: Session, scope: Scope, numbers: Collection[str]) -> set[str]:
    """Which of ``numbers`` are claims in ``scope`` (open or not)."""
    if not numbers:
        return set()
    q = _in_scope(select(Claim.claim_number).where(Claim.claim_number.in_(list(numbers))), scope)
    return set(session.execute(q).scalars())


def county_handlers(session: Session, county: str | None) -> list[str]:
    """The enabled handler accounts of ``county`` (every county's when None), by id."""
    q = select(User.id).where(User.role == Role.HANDLER.value, User.disabled.is_(False))
    if county is not None:
        q = q.where(User.county == county)
    return list(session.execute(q.order_by(User.id)).scalars())


def townships(session: Session, scope: Scope) -> list[str]:
    """The townships of the claims in ``scope``, sorted."""
    q = _in_scope(select(Claim.township).distinct(), scope)
    return sorted(session.execute(q).scalars())


def payouts_between(session: Session, scope: Scope, start: dt.datetime, end: dt.datetime) -> list[PaidLine]:
    """Payout ledger rows of claims in ``scope`` paid at ``start`` <= paid_at < ``end``."""
    q = select(Payout.claim_number, Claim.township, Payout.amount, Payout.paid_at).join(
        Claim, Claim.claim_number == Payout.claim_number
    )
    q = _in_scope(q.where(Payout.paid_at >= start, Payout.paid_at < end), scope)
    return [PaidLine(*r) for r in session.execute(q.order_by(Payout.paid_at, Payout.id))]


def closed_between(session: Session, scope: Scope, start: dt.datetime, end: dt.datetime) -> list[ClosedLine]:
    """Claims of ``scope`` closed (paid) or declined at ``start`` <= that time < ``end``: the
    payment time of a closed claim, the decision time of a declined one."""
    closed_at = type_coerce(
        case((Claim.stage == Stage.CLOSED.value, Claim.paid_at), else_=Claim.decided_at), UtcDateTime
    )
    q = select(Claim.claim_number, closed_at, Claim.sla_state).where(
        Claim.stage.in_([Stage.CLOSED.value, Stage.DECLINED.value]), closed_at >= start, closed_at < end
    )
    rows = session.execute(_in_scope(q, scope).order_by(Claim.claim_number))
    return [ClosedLine(n, at, s) for n, at, s in rows if at is not None]
