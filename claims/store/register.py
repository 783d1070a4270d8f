"""The policy register: households, insured persons and policies, loaded from a register file.

One job: validate a register file (:class:`RegisterFile`), write it (:func:`load_register`:
insert or update by household, person and policy number), refuse what would break the
register (one identity number, one person; a policy's terms fixed once claims were made
under it), and warn of insured persons outside their product's insurable ages at issue
(:func:`age_warnings`). Nothing here commits: the caller owns the transaction
(``claims.store.db.unit_of_work``), so a refused file leaves nothing behind.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, TypedDict, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from claims.domain.identity import birth_date_of, mask_id_number, sex_of, validate_id_number
from claims.errors import ClaimsError
from claims.models import NonNegativeYuan
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
from claims.store.db import Claim, Household, InsuredPerson, Policy
from rules.facts import age_on
from rules.terms import Catalogue, UnknownTermsVersion, load_catalogue

R = TypeVar("R", Household, InsuredPerson, Policy)


class RegisterError(ClaimsError, ValueError):
    """A policy register file that cannot be loaded; nothing of it is written (the caller's
    transaction is rolled back). The message names the household, member or policy by its
    reference, never a name, phone, account or whole identity number."""

    code = "register.invalid"


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


class RegisterCounts(TypedDict):
    """What :func:`load_register` wrote: households, insured persons and policies (inserted or
    updated) of the file."""

    households: int
    persons: int
    policies: int


def load_register(session: Session, register: RegisterFile) -> RegisterCounts:
    """Insert or update households, insured persons and policies (keyed by their numbers).

    Writes in the caller's transaction and flushes; does not commit. Run it inside
    ``claims.store.db.unit_of_work(sessions)``: a raised error then rolls every row back.

    Returns:
        :class:`RegisterCounts` (``{"households": n, "persons": n, "policies": n}``).

    Raises:
        RegisterError: a policy names a person not in its household, or its period is
            reversed; one identity number is given to two persons (in the file, or a person
            already on the register); any other constraint the store refuses. The caller
            rolls back, so nothing is written; the message names the field and the person reference only (an
            identity number masked, never a name, phone or account).
    """
    counts = RegisterCounts(households=0, persons=0, policies=0)
    _refuse_shared_identity_numbers(session, register)
    where = "register"
    try:
        for h_in in register.households:
            where = f"household {h_in.household_no}"
            h, _ = _row(session, Household, household_no=h_in.household_no)
            for attr in ("county", "township", "village", "registered_poor", "special_family", "hardship"):
                setattr(h, attr, getattr(h_in, attr))
            session.flush()
            counts["households"] += 1
            persons: dict[str, InsuredPerson] = {}
            for m in h_in.members:
                where = f"household {h_in.household_no}, member {m.person_ref}"
                p, _ = _row(session, InsuredPerson, person_ref=m.person_ref)
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
                pol, created = _row(session, Policy, policy_number=pol_in.policy_number)
                if not created:
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
    except IntegrityError:
        # The driver's message holds the row's values (names, identity numbers, accounts):
        # it is never shown; the message says where, by reference only. The caller's unit of
        # work rolls the transaction back when this propagates.
        raise RegisterError(
            f"{where}: the store refused the row (a value that must be unique is already used, "
            "or a required one is missing); nothing was loaded"
        ) from None
    return counts


def _row(session: Session, model: type[R], **key: str) -> tuple[R, bool]:
    """The row of ``model`` with this unique ``key`` (one column), or a new one added to the
    session with only the key set; and whether it is new."""
    row = session.scalar(select(model).filter_by(**key))
    if row is not None:
        return row, False
    row = model(**key)
    session.add(row)
    return row, True


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
