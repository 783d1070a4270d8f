"""Read queries of the reporting projection for the console's inbox (``/inbox``).

One job: the SQL behind a reader's inbox: the number of claims in each of its five views
(tabs) in **one** query, a page of one view ordered by deadline, and one claim's header row,
every query limited to the reader's scope and role **in the query**. Read only: nothing here
writes or commits; the caller's unit of work ends the read transaction.

The views (the instants are given by the caller, aware UTC; see :class:`Windows`):

* overdue (已超期): deadline passed or SLA state ``breached`` (as the supervisor's counter);
* today (今日到期): not breached, due from ``now`` to the end of today (Asia/Shanghai midnight);
* upcoming (即将到期): not breached, due from the end of today to ``horizon`` (the close of the
  second working day after today), both included;
* all (全部): every open claim the reader works on;
* new (待立案): new reports (stage ``reported``) no handler has taken.

A claim without a deadline is in none of the three deadline views (a comparison with NULL is
not true, in a ``WHERE`` as in a ``CASE``). Index: ``ix_claims_open`` (migration 0014, the
open claims only; before it ``ix_claims_inbox``, migration 0013, of every claim) holds every
column these queries filter, count and order on, so the counts and the choice of a page's
claims read the index alone, not the table, on SQLite and PostgreSQL: a handler's two ranges
of it (their claims, the unassigned ones; SQLite's ``EXPLAIN QUERY PLAN``: ``SEARCH claims
USING COVERING INDEX ix_claims_open (county=? AND assigned_handler=?)`` twice), anyone
else's county or village.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select, true, union_all
from sqlalchemy.orm import Session

from claims.models import Stage
from claims.store.db import Claim, InsuredPerson
from claims.store.reports import OPEN, Scope


class InboxView(StrEnum):
    """The inbox's views (``/inbox?view=``)."""

    OVERDUE = "overdue"  # 已超期: deadline passed or SLA breached
    TODAY = "today"  # 今日到期: due by today's close
    UPCOMING = "upcoming"  # 即将到期: due within two working days after today
    ALL = "all"  # 全部: every open claim the reader works on
    NEW = "new"  # 待立案: the scope's new reports no handler has taken


@dataclass(frozen=True)
class Windows:
    """The instants that split the deadline views (aware UTC): ``now``, the end of today
    (Asia/Shanghai midnight) and the upcoming horizon (the close of the second working day
    after today)."""

    now: dt.datetime
    end_of_today: dt.datetime
    horizon: dt.datetime


@dataclass(frozen=True)
class Reader:
    """Whose open claims a list holds: those of ``scope``; with ``handler`` set only the claims
    assigned to that handler or to nobody; with ``stage`` set only the claims in that stage."""

    scope: Scope
    handler: str | None = None
    stage: str | None = None


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


def _readers_claims(q: Select, reader: Reader) -> list[Select]:  # type: ignore[type-arg]
    """``q`` limited to the open claims of ``reader``, as one statement per range of the index:
    a handler's own claims and the unassigned ones apart (SQLite's planner reads an ``OR`` of
    the two as a scan of the whole county), otherwise one."""
    q = _in_scope(q.where(OPEN), reader.scope)
    if reader.stage is not None:
        q = q.where(Claim.stage == reader.stage)
    if reader.handler is None:
        return [q]
    return [q.where(Claim.assigned_handler == reader.handler), q.where(Claim.assigned_handler.is_(None))]


def view_condition(view: InboxView, w: Windows) -> ColumnElement[bool]:
    """The SQL condition of ``view`` among the reader's open claims (module docstring)."""
    not_breached = Claim.sla_state != "breached"
    if view == InboxView.OVERDUE:
        return or_(Claim.sla_deadline < w.now, Claim.sla_state == "breached")
    if view == InboxView.TODAY:
        return and_(Claim.sla_deadline >= w.now, Claim.sla_deadline < w.end_of_today, not_breached)
    if view == InboxView.UPCOMING:
        return and_(Claim.sla_deadline >= w.end_of_today, Claim.sla_deadline <= w.horizon, not_breached)
    if view == InboxView.NEW:
        return and_(Claim.stage == Stage.REPORTED.value, Claim.assigned_handler.is_(None))
    return true()


def _how_many(cond: ColumnElement[bool]):  # type: ignore[no-untyped-def]
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def counts_query(reader: Reader, w: Windows) -> Select:  # type: ignore[type-arg]
    """The statement of :func:`view_counts`: one row, a column per view in ``InboxView``'s order
    (a handler's two ranges counted apart and added)."""
    columns = [
        (func.count() if v == InboxView.ALL else _how_many(view_condition(v, w))).label(v.value)
        for v in InboxView
    ]
    parts = _readers_claims(select(*columns).select_from(Claim), reader)
    if len(parts) == 1:
        return parts[0]
    both = union_all(*parts).subquery()
    return select(*(func.coalesce(func.sum(c), 0) for c in both.c))


def view_counts(session: Session, reader: Reader, w: Windows) -> dict[InboxView, int]:
    """The number of the reader's open claims in every view, in one query (a conditional sum
    per view over the reader's claims)."""
    row = session.execute(counts_query(reader, w)).one()
    return {v: int(n) for v, n in zip(InboxView, row, strict=True)}


def rows_query(reader: Reader, view: InboxView, w: Windows, limit: int, offset: int = 0) -> Select:  # type: ignore[type-arg]
    """The statement of :func:`view_rows`.

    Two steps in one statement: the page's claim numbers are chosen, ordered and cut in a
    subquery that reads only columns of ``ix_claims_inbox`` (so on SQLite it is answered from
    the index alone), then only those rows are read and joined with the insured's name."""
    keys = select(Claim.claim_number, Claim.sla_deadline, Claim.reported_at)
    parts = [q.where(view_condition(view, w)) for q in _readers_claims(keys, reader)]
    both = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()
    order = (both.c.sla_deadline.is_(None), both.c.sla_deadline, both.c.reported_at, both.c.claim_number)
    chosen = select(both.c.claim_number).order_by(*order).limit(limit).offset(offset)
    q = select(*_COLUMNS).join(InsuredPerson, InsuredPerson.id == Claim.person_id)
    q = q.where(Claim.claim_number.in_(chosen.scalar_subquery()))
    return q.order_by(Claim.sla_deadline.is_(None), Claim.sla_deadline, Claim.reported_at, Claim.claim_number)


def view_rows(
    session: Session, reader: Reader, view: InboxView, w: Windows, limit: int, offset: int = 0
) -> list[InboxRow]:
    """``limit`` rows of ``view`` from ``offset``: earliest deadline first, claims without a
    deadline last, then by report time and claim number."""
    return [InboxRow(*r) for r in session.execute(rows_query(reader, view, w, limit, offset))]


def claim_row(session: Session, scope: Scope, claim_number: str) -> InboxRow | None:
    """The claim's row with the insured's name, None if ``scope`` does not hold it."""
    q = select(*_COLUMNS).join(InsuredPerson, InsuredPerson.id == Claim.person_id)
    row = session.execute(_in_scope(q.where(Claim.claim_number == claim_number), scope)).first()
    return None if row is None else InboxRow(*row)
