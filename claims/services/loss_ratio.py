"""The loss ratio (赔付率) by county, product and policy year, for supervisors and auditors.

One job: compute each group's figures from the register and the payout ledger
(``claims.store.loss_ratio``), in the reader's county:

- **insured** (承保人数): distinct persons on the group's policies;
- **earned premium** (已赚保费): each policy's premium per insured person × its insured persons
  × the share of its period elapsed by ``as_of`` (days counted inclusive, Asia/Shanghai dates;
  a policy whose period is over has earned all of it, one not yet started nothing);
- **paid** (赔款): the ledger's payouts under the group's policies;
- **赔付率** = paid / earned premium, in per cent with one decimal (half up); None when nothing
  is earned yet;
- **claims** (出险件数): distinct claims whose report named a policy of the group (a claim
  naming two policies of different groups counts once in each); **paid claims**: those with a
  payout in the group;
- **claim frequency** (出险率): claims per 1,000 insured, one decimal;
- **average paid** (件均赔款): paid / paid claims, to the fen.

The policy year is the year a policy starts in. Amounts are exact ``Decimal`` yuan.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from claims.domain.timeutil import SHANGHAI
from claims.errors import InputError, NotAllowed
from claims.models import Actor, Role
from claims.models.bounds import MAX_DATE, MIN_DATE, PLACE_LEN
from claims.services.context import Services
from claims.store.db import unit_of_work
from claims.store.loss_ratio import (
    PolicyExposure,
    claims_naming_policies,
    payouts_of_policies,
    policy_exposures,
)

READERS = frozenset({Role.SUPERVISOR, Role.AUDITOR})
"""Roles that may read loss ratios (an unidentified command-line reader is unscoped)."""

CENT = Decimal("0.01")
TENTH = Decimal("0.1")


@dataclass(frozen=True)
class LossRatioLine:
    """One group's figures (see the module docstring). ``county``/``product`` are ``"all"`` and
    ``year`` is None on the total line."""

    county: str
    product: str
    year: int | None
    policies: int
    insured: int
    earned_premium: Decimal
    paid: Decimal
    loss_ratio: Decimal | None
    claims: int
    paid_claims: int
    frequency: Decimal | None
    average_paid: Decimal | None


@dataclass(frozen=True)
class LossRatioReport:
    """Lines by county, product and policy year (sorted), and the total line, as of a date."""

    as_of: date
    lines: list[LossRatioLine]
    total: LossRatioLine


def earned_share(policy: PolicyExposure, as_of: date) -> Decimal:
    """The share of ``policy``'s period elapsed by the end of ``as_of`` (0 to 1, exact)."""
    if as_of < policy.start_date:
        return Decimal(0)
    if as_of >= policy.end_date:
        return Decimal(1)
    days = (policy.end_date - policy.start_date).days + 1
    return Decimal((as_of - policy.start_date).days + 1) / Decimal(days)


def _pct(part: Decimal, whole: Decimal) -> Decimal | None:
    return None if whole == 0 else (part * 100 / whole).quantize(TENTH, ROUND_HALF_UP)


def _line(
    county: str,
    product: str,
    year: int | None,
    policies: list[PolicyExposure],
    paid_by_policy: dict[str, list[tuple[str, Decimal]]],
    claims_by_policy: dict[str, set[str]],
    as_of: date,
) -> LossRatioLine:
    persons = {p for pol in policies for p in pol.person_ids}
    earned = sum(
        (pol.premium * len(pol.person_ids) * earned_share(pol, as_of) for pol in policies), Decimal(0)
    ).quantize(CENT, ROUND_HALF_UP)
    payouts = [row for pol in policies for row in paid_by_policy.get(pol.policy_number, [])]
    paid = sum((amount for _, amount in payouts), Decimal(0)).quantize(CENT)
    claims = {c for pol in policies for c in claims_by_policy.get(pol.policy_number, set())}
    paid_claims = {c for c, _ in payouts}
    return LossRatioLine(
        county=county,
        product=product,
        year=year,
        policies=len(policies),
        insured=len(persons),
        earned_premium=earned,
        paid=paid,
        loss_ratio=_pct(paid, earned),
        claims=len(claims),
        paid_claims=len(paid_claims),
        frequency=None
        if not persons
        else (Decimal(len(claims) * 1000) / len(persons)).quantize(TENTH, ROUND_HALF_UP),
        average_paid=(paid / len(paid_claims)).quantize(CENT, ROUND_HALF_UP) if paid_claims else None,
    )


def today_in_shanghai() -> date:
    """Today's date in Asia/Shanghai (a test replaces this module attribute)."""
    return datetime.now(SHANGHAI).date()


def _reader_county(actor: Actor | None, county: str | None) -> str | None:
    if actor is None:
        return county
    if actor.role not in READERS:
        raise NotAllowed(
            f"loss ratio: role {actor.role.value!r} may not read it (roles: supervisor, auditor)",
            code="role.not_allowed",
            params={"role": actor.role.value},
        )
    if actor.county is not None:
        if county is not None and county != actor.county:
            raise NotAllowed(
                f"county: you read {actor.county} only, not {county}",
                code="scope.county",
                params={"county": county},
            )
        return actor.county
    return county


def loss_ratio(
    services: Services,
    actor: Actor | None,
    county: str | None = None,
    product: str | None = None,
    year: int | None = None,
    as_of: date | None = None,
) -> LossRatioReport:
    """The loss ratio by county, product and policy year, in the reader's county.

    Args:
        actor: the reader (a supervisor or auditor; county-scoped readers see their county
            only); None is the command line's unscoped reader.
        county, product, year: optional filters (the policy year is the year a policy starts).
        as_of: the date premiums are earned to (default today in Asia/Shanghai).

    Raises:
        claims.errors.NotAllowed: the reader's role may not read loss ratios, or a county
            outside the reader's scope was asked for.
        claims.errors.InputError: a filter out of bounds (names the field).
    """
    if county is not None and not 0 < len(county) <= PLACE_LEN:
        raise InputError("county", f"must be 1 to {PLACE_LEN} characters")
    if product is not None and not 0 < len(product) <= PLACE_LEN:
        raise InputError("product", f"must be 1 to {PLACE_LEN} characters")
    if year is not None and not MIN_DATE.year <= year <= MAX_DATE.year:
        raise InputError("year", f"{year} is outside {MIN_DATE.year} .. {MAX_DATE.year}")
    county = _reader_county(actor, county)
    as_of = as_of or today_in_shanghai()
    with unit_of_work(services.sessions) as session:
        policies = policy_exposures(session, county, product, year)
        numbers = [p.policy_number for p in policies]
        payouts = payouts_of_policies(session, numbers)
        claims = claims_naming_policies(session, county)
    wanted = set(numbers)
    paid_by_policy: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
    for row in payouts:
        paid_by_policy[row.policy_number].append((row.claim_number, row.amount))
    claims_by_policy: dict[str, set[str]] = defaultdict(set)
    for c in claims:
        for number in c.policy_numbers:
            if number in wanted:
                claims_by_policy[number].add(c.claim_number)
    groups: dict[tuple[str, str, int], list[PolicyExposure]] = defaultdict(list)
    for p in policies:
        groups[(p.county, p.product_code, p.start_date.year)].append(p)
    lines = [
        _line(c, prod, y, pols, paid_by_policy, claims_by_policy, as_of)
        for (c, prod, y), pols in sorted(groups.items())
    ]
    total = _line("all", "all", None, policies, paid_by_policy, claims_by_policy, as_of)
    return LossRatioReport(as_of=as_of, lines=lines, total=total)
