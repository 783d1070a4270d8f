"""The monthly claims report (理赔明细) as a person asks for it: who may have which edition.

One job: check the reader, then build the report (``claims.reports.monthly``) and its file
(``claims.reports.formats``) in one read transaction.

Who may read it:

* **supervisors** (主管) and **auditors** (审计), of their own county when their account is
  scoped to one (another county's report is "not found", as the console's 404); unscoped
  readers of those roles (the provincial office) may read any county;
* the **township edition** (names masked ``张*``, identity numbers masked) to both;
* the **internal edition** (full names) to **supervisors only**: they settle payments and
  answer the county's enquiries by name. Auditors get the edition that is published to the
  townships; the names of a claim they audit are on its audit page, one claim at a time.

Handlers, investigators and village secretaries are refused (``NotAllowed``): the report lists
every claim of the county, beyond any one person's work.
"""

from __future__ import annotations

from dataclasses import dataclass

from claims.domain.workdays import WorkingCalendar, get_calendar
from claims.errors import ClaimNotFound, InputError, NotAllowed
from claims.models import Actor, Role
from claims.reports.formats import Format, file_name, render
from claims.reports.monthly import Edition, Month, MonthlyReport, build_monthly, check_county
from claims.services.context import Services
from claims.store.db import unit_of_work

READERS = frozenset({Role.SUPERVISOR, Role.AUDITOR})
"""Roles that may read the monthly report."""

NAME_READERS = frozenset({Role.SUPERVISOR})
"""Roles that may read the internal edition (full names)."""


@dataclass(frozen=True)
class MonthlyFile:
    """A built report file: its bytes, format, suggested file name and the report's figures."""

    content: bytes
    format: Format
    filename: str
    report: MonthlyReport


def parse_edition(value: str) -> Edition:
    """``township`` or ``internal``.

    Raises:
        claims.errors.InputError: ``edition``.
    """
    try:
        return Edition(value)
    except ValueError:
        raise InputError("edition", f"{value!r} is not one of township, internal") from None


def parse_format(value: str) -> Format:
    """``xlsx``, ``csv``, ``pdf`` or ``html``.

    Raises:
        claims.errors.InputError: ``format``.
    """
    try:
        return Format(value)
    except ValueError:
        raise InputError("format", f"{value!r} is not one of xlsx, csv, pdf, html") from None


def check_reader(actor: Actor | None, county: str, edition: Edition) -> None:
    """Refuse a reader who may not have this county's report in this edition.

    Raises:
        claims.errors.NotAllowed: no identity, a role that may not read it, or the internal
            edition to a role that may not see names.
        claims.errors.ClaimNotFound: a reader scoped to another county (the console's 404).
    """
    if actor is None:
        raise NotAllowed("monthly report: who are you? give --actor ID --role ROLE (supervisor or auditor)")
    if actor.role not in READERS:
        raise NotAllowed(
            f"monthly report: role {actor.role.value!r} may not read it (roles: supervisor, auditor)",
            params={"role": actor.role.value},
        )
    if actor.county is not None and actor.county != county:
        raise ClaimNotFound(county, f"no monthly report of {county!r} in your scope ({actor.county})")
    if edition is Edition.INTERNAL and actor.role not in NAME_READERS:
        raise NotAllowed(
            f"monthly report: the internal edition (full names) is for supervisors; "
            f"role {actor.role.value!r} gets the township edition",
            params={"role": actor.role.value},
        )


def monthly_report(
    services: Services,
    actor: Actor | None,
    county: str,
    month: str,
    edition: Edition = Edition.TOWNSHIP,
    cal: WorkingCalendar | None = None,
) -> MonthlyReport:
    """The report of ``county`` for ``month`` (``YYYY-MM``, payment dates in Asia/Shanghai),
    working days on ``cal`` (default: the workers' calendar, ``settings.calendar.folder``).

    Raises:
        claims.errors.InputError: ``county`` or ``month`` malformed.
        claims.errors.NotAllowed, claims.errors.ClaimNotFound: see :func:`check_reader`.
    """
    county = check_county(county)
    period = Month.parse(month)
    check_reader(actor, county, edition)
    cal = cal or get_calendar(services.settings.calendar.folder)
    with unit_of_work(services.sessions) as session:
        return build_monthly(session, county, period, edition, cal)


def monthly_file(
    services: Services,
    actor: Actor | None,
    county: str,
    month: str,
    fmt: Format,
    edition: Edition = Edition.TOWNSHIP,
    cal: WorkingCalendar | None = None,
) -> MonthlyFile:
    """The report as a file in ``fmt`` (same checks as :func:`monthly_report`)."""
    report = monthly_report(services, actor, county, month, edition, cal)
    return MonthlyFile(render(report, fmt), fmt, file_name(report, fmt), report)
