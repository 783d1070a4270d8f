"""Read queries of the reporting projection for people's views: one claim in scope, a handler's
open claims, the overdue list and the claims reported in a period.

One job: the SQL behind ``claims tasks``, ``claims overdue``, ``claims sla-report`` and the
console's inbox, with the reader's scope (county, village) applied **in the query**, so a
reader never receives a row outside it. Read only: nothing here writes or commits; the
caller's unit of work (``claims.store.db.unit_of_work``) ends the read transaction.

Rows leave as frozen dataclasses of plain values, not ORM objects, so nothing above the store
can lazy-load or change a row by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, bindparam, select, union
from sqlalchemy.orm import Session

from claims.models import Stage
from claims.store.db import Claim

TERMINAL_STAGES = (Stage.CLOSED.value, Stage.DECLINED.value, Stage.WITHDRAWN.value)
"""The stages a claim ends in."""

OPEN = Claim.stage.not_in(bindparam("terminal_stages", TERMINAL_STAGES, expanding=True, literal_execute=True))
"""The SQL condition of an open claim (neither closed, declined nor withdrawn).

Rendered with the three stages as literals (``stage NOT IN ('closed', 'declined',
'withdrawn')``), the condition of the partial indexes of open claims (migration 0014):
SQLite uses a partial index only when the query's own text implies its condition, which a
bound parameter never does (PostgreSQL would also prove it from a parameter's value)."""


@dataclass(frozen=True)
class Scope:
    """Where a reader may look: ``county`` and ``village`` when set (``claims.models.Actor``'s
    scope); both None: everywhere (the provincial office, an unscoped reader)."""

    county: str | None = None
    village: str | None = None


EVERYWHERE = Scope()
"""The scope of an unscoped reader."""


@dataclass(frozen=True)
class ClaimRow:
    """One claim of the reporting projection, as the views list it.

    Times are aware UTC; ``sla_deadline`` is None before the claim's first deadline is set;
    ``stuck_activity``/``stuck_since`` name a store step that keeps failing (migration 0007).
    """

    claim_number: str
    county: str
    township: str
    village: str
    stage: str
    assigned_handler: str | None
    green_channel: bool
    sla_state: str
    sla_deadline: datetime | None
    stuck_activity: str | None
    stuck_since: datetime | None


@dataclass(frozen=True)
class ReportedClaim:
    """A claim reported in a report period, with what the SLA report counts (times aware UTC)."""

    claim_number: str
    county: str
    township: str
    stage: str
    sla_state: str
    registered_at: datetime | None
    paid_at: datetime | None


_ROW_COLUMNS = (
    Claim.claim_number,
    Claim.county,
    Claim.township,
    Claim.village,
    Claim.stage,
    Claim.assigned_handler,
    Claim.green_channel,
    Claim.sla_state,
    Claim.sla_deadline,
    Claim.stuck_activity,
    Claim.stuck_since,
)


def _in_scope(q: Select, scope: Scope) -> Select:  # type: ignore[type-arg]
    """``q`` limited to the scope's county and village (where set)."""
    if scope.county is not None:
        q = q.where(Claim.county == scope.county)
    if scope.village is not None:
        q = q.where(Claim.village == scope.village)
    return q


def claim_in_scope(session: Session, claim_number: str, scope: Scope) -> ClaimRow | None:
    """The claim's projection row if it exists and lies in ``scope``; None otherwise (the
    caller cannot tell a claim elsewhere from no claim: both are "not found")."""
    q = _in_scope(select(*_ROW_COLUMNS).where(Claim.claim_number == claim_number), scope)
    row = session.execute(q).first()
    return ClaimRow(*row) if row is not None else None


def open_claims(session: Session, scope: Scope, handler: str | None = None) -> list[ClaimRow]:
    """Open claims in ``scope``, earliest deadline first (then earliest reported).

    Args:
        handler: only claims assigned to this handler, and the claims not yet registered
            (no handler yet), which every handler may take.
    """
    q = _in_scope(select(*_ROW_COLUMNS).where(OPEN), scope)
    if handler:
        q = q.where((Claim.assigned_handler == handler) | (Claim.assigned_handler.is_(None)))
    q = q.order_by(Claim.sla_deadline.asc(), Claim.reported_at.asc())
    return [ClaimRow(*r) for r in session.execute(q)]


@dataclass(frozen=True)
class OverdueFilter:
    """The filters of the overdue list (``claims overdue`` options); None: no filter."""

    county: str | None = None
    township: str | None = None
    handler: str | None = None
    green_channel: bool | None = None


def overdue_claims(
    session: Session,
    scope: Scope,
    now: datetime,
    due_within: timedelta | None = None,
    where: OverdueFilter = OverdueFilter(),
) -> list[ClaimRow]:
    """Open claims in ``scope`` that breached their SLA or are stuck, or whose deadline falls
    before ``now + due_within``; most late (earliest deadline) first.

    Written as a UNION of an indexed range on ``sla_deadline`` and an indexed match on
    ``sla_state`` so neither database scans every open claim.
    """
    horizon = now + (due_within or timedelta(0))
    base = _in_scope(select(*_ROW_COLUMNS).where(OPEN), scope)
    if where.county:
        base = base.where(Claim.county == where.county)
    if where.township:
        base = base.where(Claim.township == where.township)
    if where.handler:
        base = base.where(Claim.assigned_handler == where.handler)
    if where.green_channel is not None:
        base = base.where(Claim.green_channel == where.green_channel)
    q = union(
        base.where(Claim.sla_deadline <= horizon),
        base.where(Claim.sla_state.in_(["breached", "stuck"])),
    )
    rows = session.execute(q.order_by(q.selected_columns.sla_deadline.asc(), q.selected_columns.claim_number))
    return [ClaimRow(*r) for r in rows]


def claims_reported_between(
    session: Session, scope: Scope, start: datetime, end: datetime, county: str | None = None
) -> list[ReportedClaim]:
    """Claims in ``scope`` reported at ``start`` <= reported_at < ``end`` (aware instants),
    optionally of one county, in claim-number order."""
    q = select(
        Claim.claim_number,
        Claim.county,
        Claim.township,
        Claim.stage,
        Claim.sla_state,
        Claim.registered_at,
        Claim.paid_at,
    ).where(Claim.reported_at >= start, Claim.reported_at < end)
    q = _in_scope(q, scope)
    if county:
        q = q.where(Claim.county == county)
    return [ReportedClaim(*r) for r in session.execute(q.order_by(Claim.claim_number))]
