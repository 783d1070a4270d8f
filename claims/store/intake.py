"""Claim intake: a claim report checked against the policy register and recorded (报案登记).

One job: decide whether a report can be accepted, by whom (:func:`check_reporter`,
:data:`REPORTING_ROLES`) and against the register (person, policies, periods, dates), and
record the claim's row: the same event of the same person finds the claim already there.
Nothing here commits: the caller owns the transaction (``claims.store.db.unit_of_work``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from claims.domain.identity import mask_id_number, validate_id_number
from claims.errors import InputError
from claims.models import (
    Actor,
    ClaimInput,
    ClaimReport,
    HouseholdFlags,
    InsuredSnapshot,
    Outcome,
    PolicySnapshot,
    Role,
    Sex,
    Stage,
)
from claims.store.db import Claim, ColumnValue, InsuredPerson, Policy, insert_unless_present
from claims.store.ids import claim_number_for, workflow_id_for


class ReportError(InputError):
    """A claim report that cannot be accepted. ``field`` names the offending field;
    ``str(error)`` is ``"<field>: <reason>"``. Nothing of the report is recorded."""

    code = "report.invalid"


class IntakeResult(BaseModel):
    """What intake decided: the workflow input, and whether the claim is new."""

    model_config = ConfigDict(frozen=True)

    claim: ClaimInput
    created: bool

    @property
    def workflow_id(self) -> str:
        return workflow_id_for(self.claim.claim_number)



def _snapshot(pol: Policy) -> PolicySnapshot:
    return PolicySnapshot(
        policy_number=pol.policy_number,
        product_code=pol.product_code,
        terms_version=pol.terms_version,
        sum_insured=Decimal(pol.sum_insured).quantize(Decimal("0.01")),
        start_date=pol.start_date,
        end_date=pol.end_date,
        issued_on=pol.issued_on,
    )


REPORTING_ROLES: frozenset[Role] = frozenset({Role.VILLAGE_SECRETARY, Role.HANDLER, Role.SUPERVISOR})
"""The roles that may file a claim report: village secretaries (for their village), handlers
and supervisors. Not auditors (they read), not investigators, never ``system`` (the engine's
own role, which no person can claim)."""


def check_reporter(report: ClaimReport, caller: Actor | None) -> ClaimReport:
    """The identity rule of intake: the reporter of a report is whoever files it.

    Args:
        report: the report; its ``reporter`` is what the file, row or form said.
        caller: who files it (the command line's ``--actor``/``--role``, later the logged-in
            user). None only for a report the service built itself (demo, tests, benches):
            then ``report.reporter`` is the caller.

    Returns:
        The report with ``reporter`` set to the caller, carrying the caller's scope
        (``county``/``village``): a scope in the payload is never trusted.

    Raises:
        ReportError: ``reporter``: the report names another person or role than the caller,
            or the caller's role may not report (see ``REPORTING_ROLES``).
    """
    claimed = report.reporter
    if caller is not None:
        if (claimed.id, claimed.role) != (caller.id, caller.role):
            raise ReportError(
                "reporter",
                f"the report names {claimed.id} ({claimed.role.value}) but you are {caller.id} "
                f"({caller.role.value}); a report is filed in the name of who files it: "
                "leave the reporter out or file it as that person",
            )
        report = report.model_copy(update={"reporter": caller})
    role = report.reporter.role
    if role not in REPORTING_ROLES:
        allowed = ", ".join(sorted(r.value for r in REPORTING_ROLES))
        raise ReportError("reporter", f"role '{role.value}' may not report claims (roles: {allowed})")
    return report


def intake_report(
    session: Session,
    report: ClaimReport,
    now: datetime,
    today: date,
    dry_run: bool = False,
    *,
    caller: Actor | None = None,
) -> IntakeResult:
    """Check a claim report against the policy register and record it (立案前的报案登记).

    Writes the claim's row in the caller's transaction; does not commit (the caller's
    ``unit_of_work`` does, or ``claims.services.client.report_claim`` before it starts the
    workflow). A report racing another of the same event waits for it and returns its claim.

    Args:
        report: the report, already validated by pydantic.
        now: the time of receipt (aware, UTC).
        today: today's date in Asia/Shanghai (future-date checks).
        dry_run: check the report completely, the store's constraints included, but record
            nothing: the row is inserted inside a savepoint that is rolled back, so the
            caller's transaction is left as it was (``claims import --all-or-nothing`` checks
            every row first in one transaction and rolls it back).
        caller: who files the report; see ``check_reporter`` (the report's reporter must be
            the caller, whose role must be one of ``REPORTING_ROLES`` and whose scope applies).

    Returns:
        The workflow input and ``created``; ``created`` is false when the same event of the
        same insured person was already reported (the existing claim is returned).

    Raises:
        ReportError: naming the field: malformed identity number, unknown person or policy,
            person not insured by the policy, accident in the future or outside the policy
            period, report date in the future or before the accident, grade outside 1–10;
            ``reporter`` not the caller, not a reporting role, or out of the caller's scope;
            a row the store refuses (by field, without personal data).
    """
    report = check_reporter(report, caller)
    try:
        id_number = validate_id_number(report.id_number)
    except ValueError as e:
        raise ReportError("id_number", str(e).split(": ", 1)[-1]) from None
    person = session.scalar(select(InsuredPerson).where(InsuredPerson.id_number == id_number))
    if person is None:
        raise ReportError(
            "id_number",
            f"no insured person {mask_id_number(id_number)} on the policy register; "
            "check the number or load the household's register first",
        )
    reporter, home = report.reporter, person.household
    if (reporter.county is not None and reporter.county != home.county) or (
        reporter.village is not None and reporter.village != home.village
    ):
        scope = reporter.village or reporter.county
        raise ReportError(
            "reporter", f"{reporter.id} reports for {scope} only; this insured person is registered elsewhere"
        )
    same_event = list(
        session.scalars(
            select(Claim).where(Claim.person_id == person.id, Claim.accident_date == report.accident_date)
        )
    )
    same_outcome = sorted(
        (c for c in same_event if c.outcome == Outcome(report.outcome).value), key=lambda c: c.attempt
    )
    existing = same_outcome[-1] if same_outcome else None
    if existing is not None and existing.stage != Stage.WITHDRAWN.value:
        return IntakeResult(claim=_claim_input(session, existing, person, report), created=False)
    # after a withdrawal (撤案) a new report of the event opens a new claim: the next attempt
    attempt = existing.attempt + 1 if existing is not None else 1

    if report.accident_date > today:
        raise ReportError("accident_date", f"{report.accident_date} is in the future (today is {today})")
    reported_on = report.reported_on or today
    if reported_on > today:
        raise ReportError("reported_on", f"{reported_on} is in the future (today is {today})")
    if reported_on < report.accident_date:
        raise ReportError("reported_on", f"{reported_on} is before the accident date {report.accident_date}")
    if report.disability_grade is not None and not 1 <= report.disability_grade <= 10:
        raise ReportError(
            "disability_grade", f"{report.disability_grade} is not a JR/T 0083-2013 grade (1 to 10)"
        )
    if len(set(report.policy_numbers)) != len(report.policy_numbers):
        raise ReportError("policy_numbers", "a policy number is listed twice")
    policies: list[Policy] = []
    for i, number in enumerate(report.policy_numbers):
        pol = session.scalar(select(Policy).where(Policy.policy_number == number))
        if pol is None:
            raise ReportError(f"policy_numbers[{i}]", f"unknown policy {number!r}")
        if person not in pol.insured:
            raise ReportError(
                f"policy_numbers[{i}]",
                f"the insured person {person.person_ref} is not insured by policy {number}",
            )
        if not pol.start_date <= report.accident_date <= pol.end_date:
            raise ReportError(
                "accident_date",
                f"{report.accident_date} is outside the period of policy {number} "
                f"({pol.start_date} to {pol.end_date})",
            )
        policies.append(pol)

    # Another outcome of an accident already claimed (a death after a disability claim) is a
    # follow-up claim: JS<date>-<person>-2, -3 ...
    number = claim_number_for(report.accident_date, person.person_ref, sequence=len(same_event) + 1)
    household = person.household
    values: dict[str, ColumnValue] = dict(
        claim_number=number,
        workflow_id=workflow_id_for(number),
        person_id=person.id,
        attempt=attempt,
        accident_date=report.accident_date,
        reported_on=reported_on,
        policy_numbers=",".join(p.policy_number for p in policies),
        outcome=report.outcome.value,
        stage=Stage.REPORTED.value,
        county=household.county,
        township=household.township,
        village=household.village,
        reported_at=now,
        updated_at=now,
    )
    try:
        if dry_run:
            # check everything, constraints included, and record nothing: the row is written
            # inside a savepoint that is rolled back (never released: see insert_unless_present)
            savepoint = session.begin_nested()
            try:
                written = insert_unless_present(session, Claim, values)
            finally:
                savepoint.rollback()
        else:
            written = insert_unless_present(session, Claim, values)
    except IntegrityError:
        # Not a duplicate (a constraint other than a unique key): the driver's message holds
        # the row's values, never shown. The caller rolls its transaction back.
        raise ReportError(
            "report", f"the store refused the claim row of person {person.person_ref}; nothing was recorded"
        ) from None
    if not written:
        # The same event was reported at the same moment by someone else: return theirs.
        existing = session.scalar(
            select(Claim)
            .where(
                Claim.person_id == person.id,
                Claim.accident_date == report.accident_date,
                Claim.outcome == report.outcome.value,
            )
            .order_by(Claim.attempt.desc())
            .limit(1)
        )
        if existing is None:
            # Another claim took this number at the same moment (another outcome of the event)
            raise ReportError(
                "report",
                f"the store refused the claim row of person {person.person_ref}; nothing was recorded",
            )
        return IntakeResult(claim=_claim_input(session, existing, person, report), created=False)
    return IntakeResult(claim=_claim_input(session, Claim(**values), person, report), created=True)


def _claim_input(session: Session, row: Claim, person: InsuredPerson, report: ClaimReport) -> ClaimInput:
    """The workflow input of a recorded claim: the register's facts of the claim row, and the
    report's own (cause, grade, nomination, third-party record, reporter).

    A repeated report uses its own fields: it only starts the workflow when an earlier
    attempt recorded the claim but could not reach Temporal.
    """
    pols = [
        session.scalar(select(Policy).where(Policy.policy_number == n)) for n in row.policy_numbers.split(",")
    ]
    household = person.household
    return ClaimInput(
        claim_number=row.claim_number,
        reported_at=row.reported_at,
        reported_on=row.reported_on,
        accident_date=row.accident_date,
        county=row.county,
        township=row.township,
        village=row.village,
        insured=InsuredSnapshot(
            person_ref=person.person_ref, sex=Sex(person.sex), birth_date=person.birth_date
        ),
        household=HouseholdFlags(
            registered_poor=household.registered_poor,
            special_family=household.special_family,
            hardship=household.hardship,
        ),
        policies=[_snapshot(p) for p in pols if p is not None],
        outcome=Outcome(row.outcome),
        cause=report.cause,
        disability_grade=report.disability_grade,
        nominate_green_channel=report.nominate_green_channel,
        third_party_record=report.third_party_record,
        reporter=report.reporter,
    )
