"""The overdue list in its first, unscoped shape: ``overdue_claims`` as the command line called
it before the views took the reader's scope.

One job: keep that call (store and reconcile tests) answering as before, over the scoped query
of :mod:`claims.store.reports` with no scope (everywhere). Rows are
:class:`claims.store.reports.ClaimRow` frozen dataclasses, never ORM objects. Read only. New
code calls :mod:`claims.store.reports` (through ``claims.services.views``) with a scope.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from claims.store.reports import EVERYWHERE, ClaimRow, OverdueFilter
from claims.store.reports import overdue_claims as scoped_overdue_claims


def overdue_claims(
    session: Session,
    now: datetime,
    due_within: timedelta | None = None,
    county: str | None = None,
    township: str | None = None,
    handler: str | None = None,
    green_channel: bool | None = None,
) -> list[ClaimRow]:
    """Open claims that breached their SLA or are stuck (a store step keeps failing), or whose
    deadline falls before ``now + due_within``, in every county; most late (earliest
    deadline) first. The filters are those of ``claims overdue`` (None: no filter).
    """
    where = OverdueFilter(county=county, township=township, handler=handler, green_channel=green_channel)
    return scoped_overdue_claims(session, EVERYWHERE, now, due_within, where)

