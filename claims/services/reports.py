"""Reports for supervisors: SLA compliance per county and township for a report period.

One job: compute the SLA report's figures from the reporting projection (claims reported in
the period, in the reader's scope; ``claims.store.reports``) on the working-day calendar.
Presentation (columns, widths) is the caller's: ``claims.cli.render.sla_report_text``.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from claims.domain.timeutil import SHANGHAI
from claims.domain.workdays import WorkingCalendar
from claims.errors import InputError
from claims.models import Actor, Stage
from claims.services.context import Services
from claims.services.views import scope_of
from claims.store.db import unit_of_work
from claims.store.reports import ReportedClaim, claims_reported_between


@dataclass(frozen=True)
class SlaLine:
    """One line of the SLA report.

    Attributes:
        county, township: the group (``"all"``, ``""`` for the total line).
        claims, paid, declined, open, breached: counts of claims reported in the period.
        median_working_days_to_pay: median working days from registration to money paid, of
            the paid claims with both instants; None when there are none.
        met_target: decided claims (paid or declined) whose SLA was met.
    """

    county: str
    township: str
    claims: int
    paid: int
    declined: int
    open: int
    breached: int
    median_working_days_to_pay: float | None
    met_target: int

    @property
    def decided(self) -> int:
        """Claims paid or declined."""
        return self.paid + self.declined


@dataclass(frozen=True)
class SlaReport:
    """The SLA report of claims reported from ``first`` to ``last`` (Asia/Shanghai dates):
    one line per county and township (sorted), then the total line."""

    first: date
    last: date
    lines: list[SlaLine]
    total: SlaLine


def _line(cal: WorkingCalendar, county: str, township: str, claims: list[ReportedClaim]) -> SlaLine:
    # closed with a payment (a report closed as a duplicate or error pays nothing: issue 17)
    paid = [c for c in claims if c.stage == Stage.CLOSED.value and c.paid_at is not None]
    declined = [c for c in claims if c.stage == Stage.DECLINED.value]
    decided = len(paid) + len(declined)
    days = [
        cal.working_days_between(c.registered_at, c.paid_at) for c in paid if c.registered_at and c.paid_at
    ]
    met = sum(c.sla_state == "met" for c in paid + declined)
    return SlaLine(
        county=county,
        township=township,
        claims=len(claims),
        paid=len(paid),
        declined=len(declined),
        open=len(claims) - decided,
        breached=sum(c.sla_state == "breached" for c in claims),
        median_working_days_to_pay=float(statistics.median(days)) if days else None,
        met_target=met,
    )


def sla_report(
    services: Services,
    actor: Actor | None,
    cal: WorkingCalendar,
    first: date,
    last: date,
    county: str | None = None,
) -> SlaReport:
    """SLA compliance of the claims reported from ``first`` to ``last`` inclusive (dates in
    Asia/Shanghai), in the reader's scope, optionally of one county.

    Raises:
        claims.errors.InputError: ``to``: ``last`` is before ``first``.
    """
    if last < first:
        raise InputError("to", "is before from")
    lo = datetime.combine(first, datetime.min.time(), tzinfo=SHANGHAI)
    hi = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=SHANGHAI)
    with unit_of_work(services.sessions) as session:
        rows = claims_reported_between(session, scope_of(actor), lo, hi, county)
    groups: dict[tuple[str, str], list[ReportedClaim]] = defaultdict(list)
    for r in rows:
        groups[(r.county, r.township)].append(r)
    lines = [_line(cal, c, t, claims) for (c, t), claims in sorted(groups.items())]
    return SlaReport(first, last, lines, _line(cal, "all", "", rows))
