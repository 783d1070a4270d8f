"""Intake: a person reports a claim, or imports a batch of claim reports.

One job: turn report data (a JSON object, a form, a spreadsheet row) into a checked
``ClaimReport`` filed by the caller, record it and start (or find) its workflow
(``claims.services.client.report_claim``). Errors are typed: a report that does not fit is an
``InputError`` carrying every problem by field (``ReportInvalid.problems``), never text to
parse; the caller decides how to show the problems (``claims report`` prefixes the file name,
``claims import`` the line).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from claims.domain.tabular import Problem, read_claim_reports
from claims.domain.timeutil import today_in_shanghai
from claims.models import Actor, ClaimReport
from claims.services.client import report_claim
from claims.services.context import Services
from claims.services.errors import Refused
from claims.store import IntakeResult, ReportError, check_reporter, intake_report, utcnow
from claims.store.db import unit_of_work


__all__ = [
    "BadRow",
    "Batch",
    "Imported",
    "IntakeResult",  # what a report returns, for callers of the service
    "ReportInvalid",
    "import_batch",
    "read_batch",
    "read_report",
    "report",
]


class ReportInvalid(Refused):
    """A claim report refused before anything was recorded.

    Attributes:
        problems: every problem found, each with its field (None: the report as a whole)
            and message; ``field`` is the first problem's unless given.
    """

    code = "report.invalid"

    def __init__(self, problems: list[Problem], field: str | None = None) -> None:
        # each problem names its own field: the message is theirs as they are
        super().__init__(field or problems[0].field or "(report)", "; ".join(str(p) for p in problems))
        self.problems = tuple(problems)


def _problems(e: ValidationError) -> list[Problem]:
    """A pydantic error as problems by dotted field (``(input)`` for the whole object)."""
    return [Problem(".".join(str(x) for x in err["loc"]) or "(input)", err["msg"]) for err in e.errors()]


def _refused(e: ReportError) -> ReportInvalid:
    """The store's refusal of a report (its text already names the field) as ``ReportInvalid``."""
    return ReportInvalid([Problem(None, str(e))], field=e.field)


def read_report(data: object, actor: Actor | None) -> ClaimReport:
    """A claim report from decoded JSON (a file, a form, a batch row), filed by ``actor``.

    A ``reporter`` in the data is refused unless it is the caller (``claims.store.check_reporter``);
    without one, the caller is the reporter.

    Raises:
        ReportInvalid: not a JSON object, a field the model refuses (every one listed), or a
            reporter other than the caller; an amount the decimal context cannot compute is
            one problem of the report as a whole.
    """
    if not isinstance(data, dict):
        raise ReportInvalid(
            [Problem(None, f"a claim report must be a JSON object {{...}}, not {type(data).__name__}")]
        )
    if actor is not None and "reporter" not in data:
        data = {**data, "reporter": actor.model_dump()}
    try:
        return check_reporter(ClaimReport.model_validate(data), actor)
    except ValidationError as e:
        raise ReportInvalid(_problems(e)) from None
    except ReportError as e:
        raise _refused(e) from None
    except ArithmeticError as e:  # a decimal signal from a value the model could not compute
        raise ReportInvalid([Problem(None, f"a number out of range ({type(e).__name__})")]) from None


async def report(services: Services, actor: Actor, rep: ClaimReport) -> IntakeResult:
    """Record a report filed by ``actor`` and start (or find) its workflow.

    Returns:
        The workflow input and ``created`` (false: the same event was already reported and
        the existing claim is returned).

    Raises:
        ReportInvalid: the report does not fit the register (by field) or the caller's scope.
        claims.errors.Unavailable: Temporal does not answer (the row may be recorded; report
            again to start the workflow).
    """
    client = await services.client()
    with unit_of_work(services.sessions) as session:
        try:
            return await report_claim(client, session, rep, caller=actor)
        except ReportError as e:
            raise _refused(e) from None


@dataclass(frozen=True)
class BadRow:
    """A row of a batch that was not imported: its line (sheet row) and why."""

    line: int
    message: str


@dataclass
class Batch:
    """A batch file read and checked row by row, before anything is recorded.

    Attributes:
        source: how the file was read (format, encoding or sheet), for the person importing.
        reports: the rows that became reports, with their line (sheet row) numbers.
        bad: the rows that did not, with every problem of each.
    """

    source: str
    reports: list[tuple[int, ClaimReport]] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)


def read_batch(path: Path, encoding: str | None, actor: Actor | None) -> Batch:
    """Read a batch of claim reports (JSON Lines, CSV, ``.xlsx``; see ``claims.domain.tabular``).

    Raises:
        claims.domain.tabular.TabularError: the file cannot be read at all (its ``line``
            attribute names the line, where there is one).
    """
    table = read_claim_reports(path, encoding)
    batch = Batch(source=table.source, bad=[BadRow(b.line, b.message) for b in table.errors])
    for row in table.rows:
        try:
            batch.reports.append((row.line, read_report(row.data, actor)))
        except ReportInvalid as e:
            batch.bad.append(BadRow(row.line, e.message))
    return batch


@dataclass
class Imported:
    """What an import did: claims newly reported and the bad rows (in line order)."""

    imported: int
    bad: list[BadRow]


async def import_batch(
    services: Services,
    actor: Actor,
    batch: Batch,
    *,
    all_or_nothing: bool = False,
    on_reported: Callable[[int, IntakeResult], None] | None = None,
) -> Imported:
    """Record a batch's reports (each row its own transaction) and start their workflows.

    Args:
        batch: from :func:`read_batch`, every row's reporter already the caller.
        all_or_nothing: check every row against the register first (in one transaction that
            is rolled back) and import nothing if any row is bad.
        on_reported: told of each row recorded, as it happens (line, result).

    Returns:
        How many claims were new and every bad row, sorted by line. With
        ``all_or_nothing`` and a bad row, nothing was recorded and ``imported`` is 0.

    Raises:
        claims.errors.Unavailable: Temporal does not answer.
    """
    bad = list(batch.bad)
    if all_or_nothing:
        with services.sessions() as session:
            for line, rep in batch.reports:
                try:
                    intake_report(session, rep, utcnow(), today_in_shanghai(), dry_run=True)
                except ReportError as e:
                    bad.append(BadRow(line, str(e)))
            session.rollback()
        if bad:
            return Imported(0, sorted(bad, key=lambda b: b.line))
    client = await services.client()
    imported = 0
    for line, rep in batch.reports:
        with unit_of_work(services.sessions) as session:
            try:
                result = await report_claim(client, session, rep)
            except ReportError as e:
                bad.append(BadRow(line, str(e)))
                continue
        imported += result.created
        if on_reported is not None:
            on_reported(line, result)
    return Imported(imported, sorted(bad, key=lambda b: b.line))
