"""The store's reads in their first shape: ``open_tasks`` and ``overdue_claims`` as the command
line called them before the views took the reader's scope.

One job: keep those two calls (tests, benches and the command line until it moves to
``claims.services.views``) answering as before, over the scoped queries of
:mod:`claims.store.reports` with no scope (everywhere). Rows are
:class:`claims.store.reports.ClaimRow` frozen dataclasses, never ORM objects. Read only.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from claims.store.reports import EVERYWHERE, ClaimRow, OverdueFilter, open_claims
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


def open_tasks(session: Session, handler: str | None = None) -> list[ClaimRow]:
    """Open claims, optionally only those assigned to ``handler``; earliest deadline first.

    Claims not yet registered (no handler) are listed for every handler.
    """
    return open_claims(session, EVERYWHERE, handler)
