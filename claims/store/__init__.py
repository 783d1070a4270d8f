"""Store operations: the policy register, claim intake, the reporting projection, the payout ledger.

Every function takes a SQLAlchemy ``Session`` and commits its own unit of work, so a
failure leaves what was already recorded untouched.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select, union, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from claims.models.bounds import (
    BankAccount,
    BoundedDate,
    PersonName,
    Phone,
    PlaceName,
    PolicyNumber,
    TermsVersion,
    Token,
)
from claims.store.db import BenefitReservation, Claim, Household, InsuredPerson, Notification, Payout, Policy
from claims.domain.identity import birth_date_of, mask_id_number, sex_of, validate_id_number
from claims.models import (
    Actor,
    ClaimInput,
    ClaimProjection,
    ClaimReport,
    HouseholdFlags,
    InsuredSnapshot,
    NonNegativeYuan,
    Outcome,
    PaymentRecord,
    PayoutRequest,
    PolicySnapshot,
    PriorBenefit,
    PriorBenefitsResult,
    ReserveBenefitsRequest,
    ReserveBenefitsResult,
    Role,
    Sex,
    Stage,
)
from claims.domain.payments import PaymentInstruction, PaymentSink
from claims.domain.timeutil import SHANGHAI
from rules.facts import age_on
from rules.terms import Catalogue, UnknownTermsVersion, load_catalogue


class ReportError(ValueError):
    """A claim report that cannot be accepted. ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class RegisterError(ValueError):
    """A policy register file that cannot be loaded; nothing of it is written."""


# --------------------------------------------------------------------------- register file


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MemberIn(_FileModel):
    """An insured person in a register file. ``id_number`` is checked against GB 11643."""

    person_ref: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")
    name: PersonName
    id_number: str = Field(max_length=32)
    phone: Phone | None = None
    bank_account: BankAccount | None = None

    @field_validator("id_number")
    @classmethod
    def _check_id(cls, v: str) -> str:
        return validate_id_number(v)


class PolicyIn(_FileModel):
    """A policy in a register file: amounts in yuan, ``insured`` lists ``person_ref``s."""

    policy_number: PolicyNumber
    product_code: Token
    terms_version: TermsVersion
    start_date: BoundedDate
    end_date: BoundedDate
    issued_on: BoundedDate
    premium: NonNegativeYuan
    sum_insured: NonNegativeYuan
    insured: list[Annotated[str, Field(max_length=32)]] = Field(min_length=1, max_length=50)


class HouseholdIn(_FileModel):
    """A household with its members and policies."""

    household_no: PolicyNumber
    county: PlaceName
    township: PlaceName
    village: PlaceName
    registered_poor: bool = False
    special_family: bool = False
    hardship: bool = False
    members: list[MemberIn] = Field(min_length=1, max_length=50)
    policies: list[PolicyIn] = Field(default_factory=list)


class RegisterFile(_FileModel):
    """A policy register file (``data/demo/register.json`` is an example)."""

    households: list[HouseholdIn]


def load_register(session: Session, register: RegisterFile) -> dict[str, int]:
    """Insert or update households, insured persons and policies (keyed by their numbers).

    Returns:
        Counts: ``{"households": n, "persons": n, "policies": n}``.

    Raises:
        RegisterError: a policy names a person not in its household, or its period is
            reversed; one identity number is given to two persons (in the file, or a person
            already on the register); any other constraint the store refuses. Nothing is
            written, and the message names the field and the person reference only (an
            identity number masked, never a name, phone or account).
    """
    counts = {"households": 0, "persons": 0, "policies": 0}
    _refuse_shared_identity_numbers(session, register)
    where = "register"
    try:
        for h_in in register.households:
            where = f"household {h_in.household_no}"
            h = session.scalar(select(Household).where(Household.household_no == h_in.household_no))
            if h is None:
                h = Household(household_no=h_in.household_no)
                session.add(h)
            for attr in ("county", "township", "village", "registered_poor", "special_family", "hardship"):
                setattr(h, attr, getattr(h_in, attr))
            session.flush()
            counts["households"] += 1
            persons: dict[str, InsuredPerson] = {}
            for m in h_in.members:
                where = f"household {h_in.household_no}, member {m.person_ref}"
                p = session.scalar(select(InsuredPerson).where(InsuredPerson.person_ref == m.person_ref))
                if p is None:
                    p = InsuredPerson(person_ref=m.person_ref)
                    session.add(p)
                p.household_id = h.id
                p.name, p.id_number = m.name, m.id_number
                p.sex, p.birth_date = sex_of(m.id_number), birth_date_of(m.id_number)
                p.phone, p.bank_account = m.phone, m.bank_account
                persons[m.person_ref] = p
                counts["persons"] += 1
            session.flush()
            where = f"household {h_in.household_no}"
            for pol_in in h_in.policies:
                where = f"policy {pol_in.policy_number}"
                if pol_in.end_date < pol_in.start_date:
                    raise RegisterError(
                        f"policy {pol_in.policy_number}: end_date {pol_in.end_date} is before "
                        f"start_date {pol_in.start_date}"
                    )
                missing = [r for r in pol_in.insured if r not in persons]
                if missing:
                    raise RegisterError(
                        f"policy {pol_in.policy_number}: insured {missing} are not members of "
                        f"household {h_in.household_no}; add them to its members"
                    )
                pol = session.scalar(select(Policy).where(Policy.policy_number == pol_in.policy_number))
                if pol is None:
                    pol = Policy(policy_number=pol_in.policy_number)
                    session.add(pol)
                else:
                    _refuse_changes_under_claims(session, pol, pol_in)
                pol.household_id = h.id
                for attr in (
                    "product_code",
                    "terms_version",
                    "start_date",
                    "end_date",
                    "issued_on",
                    "premium",
                    "sum_insured",
                ):
                    setattr(pol, attr, getattr(pol_in, attr))
                pol.insured = [persons[r] for r in pol_in.insured]
                counts["policies"] += 1
            session.flush()
        session.commit()
    except IntegrityError:
        # The driver's message holds the row's values (names, identity numbers, accounts):
        # it is never shown; the message says where, by reference only.
        session.rollback()
        raise RegisterError(
            f"{where}: the store refused the row (a value that must be unique is already used, "
            "or a required one is missing); nothing was loaded"
        ) from None
    except Exception:
        session.rollback()
        raise
    return counts


def _refuse_shared_identity_numbers(session: Session, register: RegisterFile) -> None:
    """One identity number, one person: refuse a file that gives a number to two person
    references, or a number the register already holds under another reference.

    Raises:
        RegisterError: ``members.id_number``, naming both person references and the number
            masked (``430124********1234``).
    """
    owner: dict[str, str] = {}
    for h_in in register.households:
        for m in h_in.members:
            first = owner.setdefault(m.id_number, m.person_ref)
            if first != m.person_ref:
                raise RegisterError(
                    f"household {h_in.household_no}, member {m.person_ref}: id_number "
                    f"{mask_id_number(m.id_number)} is also given to member {first}; one person, one "
                    "identity number: nothing was loaded"
                )
    numbers = list(owner)
    known = []
    for i in range(0, len(numbers), 500):  # bounded IN lists (SQLite's parameter limit)
        chunk = numbers[i : i + 500]
        query = select(InsuredPerson.id_number, InsuredPerson.person_ref)
        known += session.execute(query.where(InsuredPerson.id_number.in_(chunk))).all()
    for id_number, person_ref in known:
        if person_ref != owner[id_number]:
            raise RegisterError(
                f"member {owner[id_number]}: id_number {mask_id_number(id_number)} is already on the "
                f"register as person {person_ref}; one person, one identity number: nothing was loaded"
            )


def age_warnings(register: RegisterFile, catalogue: Catalogue | None = None) -> list[str]:
    """Insured persons outside their product's insurable ages when the policy was issued.

    For terms whose eligibility is judged at issue (``age_basis: at_issue``, 投保年龄: the
    accident and elderly plans), a person outside ``min_age``..``max_age`` on the policy's issue
    date would have every claim refused; the register loader warns (it still loads: the
    register is the insurer's record). Messages name the person's reference, never the
    identity number. Policies whose terms version is unknown are left to adjudication.

    Args:
        register: a validated register file.
        catalogue: the terms catalogue; default the shipped one.

    Returns:
        One message per (policy, person) outside the ages, in file order.
    """
    catalogue = catalogue if catalogue is not None else load_catalogue()
    out = []
    for h in register.households:
        births = {m.person_ref: birth_date_of(m.id_number) for m in h.members}
        for pol in h.policies:
            try:
                e = catalogue.get(pol.terms_version).terms.eligibility
            except UnknownTermsVersion:
                continue
            if e.age_basis != "at_issue":
                continue
            for ref in pol.insured:
                if ref not in births:
                    continue
                age = age_on(births[ref], pol.issued_on)
                if not e.min_age <= age <= e.max_age:
                    out.append(
                        f"policy {pol.policy_number}: insured {ref} was {age} when the policy was issued "
                        f"on {pol.issued_on}, outside the insurable ages {e.min_age}-{e.max_age} of "
                        f"{pol.terms_version} (age at issue): claims under it will be refused"
                    )
    return out


_TERMS_FIELDS = ("product_code", "terms_version", "start_date", "end_date", "issued_on", "sum_insured")


def _refuse_changes_under_claims(session: Session, pol: Policy, pol_in: PolicyIn) -> None:
    """A policy that claims were made under keeps its terms: reloading the register may not
    change them behind those claims (an endorsement is a new policy version, not a reload).

    Raises:
        RegisterError: naming the policy, the field, the old and new value.
    """
    changed = []
    for f in _TERMS_FIELDS:
        old, new = getattr(pol, f), getattr(pol_in, f)
        if isinstance(old, Decimal) or isinstance(new, Decimal):
            same = Decimal(old) == Decimal(new)
        else:
            same = old == new
        if not same:
            changed.append(f"{f} {old} -> {new}")
    if not changed:
        return
    candidates = session.execute(
        select(Claim.claim_number, Claim.policy_numbers).where(
            Claim.policy_numbers.contains(pol.policy_number)
        )
    )
    has_claims = next((n for n, nums in candidates if pol.policy_number in nums.split(",")), None)
    if has_claims:
        raise RegisterError(
            f"policy {pol.policy_number}: {', '.join(changed)} would change the terms of claim "
            f"{has_claims} made under it; nothing was loaded. Issue the change as a new policy number"
        )


# --------------------------------------------------------------------------- intake


class IntakeResult(BaseModel):
    """What intake decided: the workflow input, and whether the claim is new."""

    model_config = ConfigDict(frozen=True)

    claim: ClaimInput
    created: bool

    @property
    def workflow_id(self) -> str:
        return workflow_id_for(self.claim.claim_number)


def claim_number_for(accident_date: date, person_ref: str, sequence: int = 1) -> str:
    """The claim number of an event: ``JS<accident yyyymmdd>-<person_ref>``, and ``-<n>`` for
    the n-th claim (n >= 2) on the same accident with another outcome.

    Derived from the event, so a second report of it finds the same claim.
    """
    base = f"JS{accident_date:%Y%m%d}-{person_ref}"
    return base if sequence <= 1 else f"{base}-{sequence}"


def workflow_id_for(claim_number: str) -> str:
    """The Temporal workflow id of a claim: ``claim-<claim number>``."""
    return f"claim-{claim_number}"


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

    Args:
        report: the report, already validated by pydantic.
        now: the time of receipt (aware, UTC).
        today: today's date in Asia/Shanghai (future-date checks).
        dry_run: check the report completely but record nothing (``claims import
            --all-or-nothing`` checks every row first).
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
    existing = next((c for c in same_event if c.outcome == Outcome(report.outcome).value), None)
    if existing is not None:
        return IntakeResult(claim=_claim_input(session, existing, person, report), created=False)

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
    row = Claim(
        claim_number=number,
        workflow_id=workflow_id_for(number),
        person_id=person.id,
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
    session.add(row)
    try:
        if dry_run:  # check everything, constraints included, and record nothing
            session.flush()
            session.rollback()
        else:
            session.commit()
    except IntegrityError:
        # The same event was reported at the same moment by someone else: return theirs.
        session.rollback()
        existing = session.scalar(
            select(Claim).where(
                Claim.person_id == person.id,
                Claim.accident_date == report.accident_date,
                Claim.outcome == report.outcome.value,
            )
        )
        if existing is None:
            # Not the same event: the driver's message holds the row's values; never shown.
            raise ReportError(
                "report",
                f"the store refused the claim row of person {person.person_ref}; nothing was recorded",
            ) from None
        return IntakeResult(claim=_claim_input(session, existing, person, report), created=False)
    claim = _claim_input(session, row, person, report)
    return IntakeResult(claim=claim, created=True)


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


# --------------------------------------------------------------------------- projection


def update_projection(session: Session, proj: ClaimProjection, now: datetime) -> bool:
    """Write the workflow's view of a claim into its reporting row.

    One conditional ``UPDATE ... WHERE projection_seq < :seq``, so of two writes racing (an
    activity retried after a worker crash lands after a later one) the row keeps the later
    view whatever the order they commit in. ``proj.seq == 0`` (activity inputs recorded
    before the counter) writes unconditionally.

    Returns:
        True if the row was written, False if it already held a later view (skipped).

    Raises:
        KeyError: no intake row for the claim number (it was never reported through intake).
    """
    values: dict[str, Any] = {}
    for field in (
        "stage",
        "assigned_handler",
        "green_channel",
        "case_class",
        "sla_state",
        "sla_deadline",
        "target_working_days",
        "registered_at",
        "decided_at",
        "paid_at",
        "total_paid",
        "stuck_activity",
        "stuck_since",
    ):
        value: Any = getattr(proj, field)
        if hasattr(value, "value"):
            value = value.value
        values[field] = value
    values["updated_at"] = now
    stmt = update(Claim).where(Claim.claim_number == proj.claim_number)
    if proj.seq:
        values["projection_seq"] = proj.seq
        stmt = stmt.where(Claim.projection_seq < proj.seq)
    written = session.execute(stmt.values(**values), execution_options={"synchronize_session": False})
    session.commit()
    if written.rowcount == 1:  # type: ignore[attr-defined]
        return True
    if session.get(Claim, proj.claim_number) is None:
        raise KeyError(f"claim {proj.claim_number} has no intake record")
    return False


# --------------------------------------------------------------------------- payouts


def record_payout(
    session: Session, req: PayoutRequest, sink: PaymentSink | None = None
) -> list[PaymentRecord]:
    """Write one ledger row per benefit line, numbered 1..n in the decision's order.

    Idempotent: the key is (claim number, payment number); a retried or duplicated call
    finds the rows already written and writes nothing more.

    Args:
        sink: called once per row written, inside the row's transaction before it commits
            (see ``claims/domain/payments.py``); a row already written is never sent again.

    Returns:
        The ledger rows of the claim, in payment-number order.
    """
    for number, line in enumerate(req.lines, start=1):
        exists = session.scalar(
            select(Payout.id).where(Payout.claim_number == req.claim_number, Payout.payment_number == number)
        )
        if exists is not None:
            continue
        session.add(
            Payout(
                claim_number=req.claim_number,
                payment_number=number,
                policy_number=line.policy_number,
                benefit_id=line.benefit_id,
                kind=line.kind,
                amount=line.amount,
                transfer_ref=req.transfer_ref,
                paid_at=req.paid_at,
            )
        )
        try:
            session.flush()
        except IntegrityError:
            session.rollback()  # written concurrently by a duplicate attempt: keep theirs
            continue
        if sink is not None:
            try:
                sink(
                    PaymentInstruction(
                        claim_number=req.claim_number,
                        payment_number=number,
                        policy_number=line.policy_number,
                        amount=line.amount,
                        transfer_ref=req.transfer_ref,
                    )
                )
            except BaseException:
                session.rollback()
                raise
        # the amount held at adjudication is now in the ledger: count it once, as paid
        session.execute(
            update(BenefitReservation)
            .where(
                BenefitReservation.claim_number == req.claim_number,
                BenefitReservation.policy_number == line.policy_number,
                BenefitReservation.benefit_id == line.benefit_id,
                BenefitReservation.status == "held",
            )
            .values(status="paid"),
            execution_options={"synchronize_session": False},
        )
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # written concurrently by a duplicate attempt: keep theirs
    return payments_of(session, req.claim_number)


def prior_benefits(session: Session, claim_number: str, policy_numbers: list[str]) -> list[PriorBenefit]:
    """Benefits already paid, or reserved and not yet paid, under ``policy_numbers`` by claims
    other than ``claim_number``: every insured person's, each with its ``person_ref`` and
    ``claim_number`` (the rules count a person's own unless the terms share a limit).

    They limit a new claim: a death pays the sum insured less the disability already paid to
    the person for the same accident, and is paid once; yearly limits count what was paid;
    critical illness cover ends after it paid. ``paid_on`` is the Asia/Shanghai date of
    payment (of reservation, for a held amount); ``kind`` falls back to the benefit id for
    rows written before the ledger kept kinds (migration 0003). Paid rows first (by payment
    time), then held reservations (by reservation time).
    """
    if not policy_numbers:
        return []
    paid = session.execute(
        select(
            Payout.policy_number,
            Payout.kind,
            Payout.benefit_id,
            Payout.amount,
            Payout.paid_at,
            Payout.claim_number,
            Claim.accident_date,
            InsuredPerson.person_ref,
        )
        .join(Claim, Claim.claim_number == Payout.claim_number)
        .join(InsuredPerson, InsuredPerson.id == Claim.person_id)
        .where(Payout.policy_number.in_(policy_numbers), Payout.claim_number != claim_number)
        .order_by(Payout.paid_at, Payout.id)
    )
    out = [
        PriorBenefit(
            policy_number=r.policy_number,
            kind=r.kind or r.benefit_id,
            amount=Decimal(r.amount).quantize(Decimal("0.01")),
            accident_date=r.accident_date,
            paid_on=r.paid_at.astimezone(SHANGHAI).date(),
            person_ref=r.person_ref,
            claim_number=r.claim_number,
        )
        for r in paid
    ]
    held = session.scalars(
        select(BenefitReservation)
        .where(
            BenefitReservation.policy_number.in_(policy_numbers),
            BenefitReservation.claim_number != claim_number,
            BenefitReservation.status == "held",
        )
        .order_by(BenefitReservation.reserved_at, BenefitReservation.id)
    )
    out += [
        PriorBenefit(
            policy_number=r.policy_number,
            kind=r.kind,
            amount=Decimal(r.amount).quantize(Decimal("0.01")),
            accident_date=r.accident_date,
            paid_on=r.reserved_at.astimezone(SHANGHAI).date(),
            person_ref=r.person_ref,
            claim_number=r.claim_number,
            reserved=True,
        )
        for r in held
    ]
    return out


def find_prior_benefits(
    session: Session, claim_number: str, policy_numbers: list[str]
) -> PriorBenefitsResult:
    """:func:`prior_benefits` with the policies' ledger versions read in the same transaction
    (for the optimistic check of :func:`reserve_benefits`)."""
    versions = {
        n: v
        for n, v in session.execute(
            select(Policy.policy_number, Policy.ledger_version).where(
                Policy.policy_number.in_(policy_numbers)
            )
        )
    }
    return PriorBenefitsResult(
        benefits=prior_benefits(session, claim_number, policy_numbers), ledger_versions=versions
    )


def reserve_benefits(session: Session, req: ReserveBenefitsRequest) -> ReserveBenefitsResult:
    """Hold a decision's payable lines against the limits of their policies, unless another
    claim changed those policies' ledgers since the decision's prior benefits were read.

    Limits that hold when claims race (issue 11): two claims of one person that draw on one
    limit (the accident-medical yearly limit, a death paid once) may be adjudicated at the
    same time, each against the same earlier payments. Each adjudication reads the prior
    benefits with the policies' ``ledger_version`` (:func:`find_prior_benefits`), decides, and
    then reserves here. For every policy with a payable line, in policy-number order, a
    compare-and-swap ``UPDATE policies SET ledger_version = v + 1 WHERE ledger_version = v``
    both checks that nothing changed and locks the row (PostgreSQL: a row lock held to the
    commit, so a racing reservation waits, then finds the version moved; SQLite: the
    database write lock). When a version moved, nothing is written and the caller reads the
    prior benefits again (now including the other claim's reservation) and decides again.

    Idempotent: when the claim already holds exactly these lines (a retried activity whose
    first attempt committed), it answers ``reserved`` without writing. Held lines of an
    earlier, different decision of the same claim are released first.

    Args:
        session: the caller's session; this function commits (or rolls back) it.
        req: the claim, the insured person, the accident date, the payable lines and the
            ledger versions read with the prior benefits.

    Returns:
        ``reserved`` true, or false with the policy numbers whose ledger moved.
    """
    lines = [ln for ln in req.lines if ln.amount > 0]
    want = sorted((ln.policy_number, ln.benefit_id, ln.amount) for ln in lines)
    have = sorted(
        (r.policy_number, r.benefit_id, Decimal(r.amount).quantize(Decimal("0.01")))
        for r in session.scalars(
            select(BenefitReservation).where(
                BenefitReservation.claim_number == req.claim_number, BenefitReservation.status == "held"
            )
        )
    )
    if have == want:
        session.rollback()
        return ReserveBenefitsResult(reserved=True)
    conflicts = []
    for number in sorted({ln.policy_number for ln in lines}):
        expected = req.ledger_versions.get(number)
        stmt = update(Policy).where(Policy.policy_number == number)
        if expected is not None:
            stmt = stmt.where(Policy.ledger_version == expected)
        moved = session.execute(
            stmt.values(ledger_version=Policy.ledger_version + 1),
            execution_options={"synchronize_session": False},
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            conflicts.append(number)
    if conflicts:
        session.rollback()
        return ReserveBenefitsResult(reserved=False, conflicts=conflicts)
    session.execute(
        update(BenefitReservation)
        .where(BenefitReservation.claim_number == req.claim_number, BenefitReservation.status == "held")
        .values(status="released"),
        execution_options={"synchronize_session": False},
    )
    for ln in lines:
        session.add(
            BenefitReservation(
                claim_number=req.claim_number,
                policy_number=ln.policy_number,
                person_ref=req.person_ref,
                benefit_id=ln.benefit_id,
                kind=ln.kind,
                amount=ln.amount,
                accident_date=req.accident_date,
                reserved_at=req.reserved_at,
                status="held",
            )
        )
    session.commit()
    return ReserveBenefitsResult(reserved=True)


def reservations_of(session: Session, claim_number: str) -> list[BenefitReservation]:
    """The reservation rows of one claim (every status), oldest first."""
    return list(
        session.scalars(
            select(BenefitReservation)
            .where(BenefitReservation.claim_number == claim_number)
            .order_by(BenefitReservation.id)
        )
    )


def payments_of(session: Session, claim_number: str) -> list[PaymentRecord]:
    """The ledger rows of one claim, in payment-number order."""
    rows = session.scalars(
        select(Payout).where(Payout.claim_number == claim_number).order_by(Payout.payment_number)
    )
    return [
        PaymentRecord(
            claim_number=r.claim_number,
            payment_number=r.payment_number,
            policy_number=r.policy_number,
            amount=Decimal(r.amount).quantize(Decimal("0.01")),
            transfer_ref=r.transfer_ref,
            paid_at=r.paid_at,
        )
        for r in rows
    ]


def add_notification(
    session: Session,
    claim_number: str,
    kind: str,
    county: str,
    message: str,
    dedupe_key: str,
    now: datetime,
    recipient_role: str = "supervisor",
) -> bool:
    """Queue a notice in the outbox (default to the county's supervisors).

    Returns:
        False when a notice with the same ``dedupe_key`` was already queued.
    """
    if session.scalar(select(Notification.id).where(Notification.dedupe_key == dedupe_key)):
        return False
    session.add(
        Notification(
            claim_number=claim_number,
            kind=kind,
            recipient_role=recipient_role,
            county=county,
            message=message,
            dedupe_key=dedupe_key,
            created_at=now,
        )
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


# --------------------------------------------------------------------------- queries


OVERDUE_COLUMNS = (
    Claim.claim_number,
    Claim.county,
    Claim.township,
    Claim.assigned_handler,
    Claim.stage,
    Claim.sla_deadline,
    Claim.sla_state,
    Claim.green_channel,
    Claim.stuck_activity,
    Claim.stuck_since,
)
"""The columns of the overdue list (a light row, not the whole ORM object)."""


def overdue_claims(
    session: Session,
    now: datetime,
    due_within: timedelta | None = None,
    county: str | None = None,
    township: str | None = None,
    handler: str | None = None,
    green_channel: bool | None = None,
) -> list[Any]:
    """Open claims that breached their SLA or are stuck (a store step keeps failing), or whose
    deadline falls before ``now + due_within``.

    Returns rows with the attributes of :data:`OVERDUE_COLUMNS`, sorted most late first
    (earliest deadline first). Written as a UNION of an indexed range on ``sla_deadline`` and
    an indexed match on ``sla_state`` so neither database scans every open claim.
    """
    horizon = now + (due_within or timedelta(0))
    base = select(*OVERDUE_COLUMNS).where(Claim.stage.not_in([Stage.CLOSED.value, Stage.DECLINED.value]))
    if county:
        base = base.where(Claim.county == county)
    if township:
        base = base.where(Claim.township == township)
    if handler:
        base = base.where(Claim.assigned_handler == handler)
    if green_channel is not None:
        base = base.where(Claim.green_channel == green_channel)
    q = union(
        base.where(Claim.sla_deadline <= horizon),
        base.where(Claim.sla_state.in_(["breached", "stuck"])),
    )
    return list(session.execute(q.order_by(q.selected_columns.sla_deadline.asc())))


def open_tasks(session: Session, handler: str | None = None) -> list[Claim]:
    """Open claims, optionally only those assigned to ``handler``; earliest deadline first.

    Claims not yet registered (no handler) are listed for every handler.
    """
    q = select(Claim).where(Claim.stage.not_in([Stage.CLOSED.value, Stage.DECLINED.value]))
    if handler:
        q = q.where((Claim.assigned_handler == handler) | (Claim.assigned_handler.is_(None)))
    return list(session.scalars(q.order_by(Claim.sla_deadline.asc(), Claim.reported_at.asc())))


def utcnow() -> datetime:
    """Now, aware UTC (outside workflow code only)."""
    return datetime.now(UTC)
