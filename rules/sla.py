"""SLA policy as data: which working-day targets a claim gets (``rules/sla_policy.json``),
and the handlers' payout authority limit.

A policy file has a version (recorded with every claim), a table of regions (a prefecture
and its counties), a province default and per-region overrides. Which case class applies
comes from the triage rules (``rules/triage.json``). ``payout_authority`` sets the amount a
handler may pay without a supervisor's approval, by county, region or product: it is the
engine's configuration, versioned with the policy and recorded with each claim's target,
never taken from the client that reports.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from claims.models import CaseClass, NonNegativeYuan, SlaTarget, SlaTargetRequest
from rules.errors import SlaPolicyError, describe_validation_error

POLICY_FILE = Path(__file__).resolve().parent / "sla_policy.json"
POLICY_ENV = "CLAIMS_SLA_POLICY"
"""The environment variable naming another policy file (read by ``claims.infra.settings``)."""


class Targets(BaseModel):
    """Programme targets of one region, in working days.

    Attributes:
        registration_working_days: report to registration; 0 = the same working day (Changde).
        targets: registration to money paid, per case class (seed: 3 / 5 / 15 / 30).
        green_channel_working_days: the green channel's target (seed example: 2).
        max_pause_working_days: cap on the time paused while waiting on the claimant.
        reassign_on_breach_to: staff id a breached claim is reassigned to, or None.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    registration_working_days: int = Field(ge=0, le=30)
    targets: dict[CaseClass, int]
    green_channel_working_days: int = Field(ge=0, le=60)
    max_pause_working_days: int = Field(default=20, ge=0, le=250)
    reassign_on_breach_to: str | None = None

    @model_validator(mode="after")
    def _every_class(self) -> Targets:
        missing = [c.value for c in CaseClass if c not in self.targets]
        if missing:
            raise ValueError(
                f"targets: no target for case class {', '.join(missing)}; fix: add one per class"
            )
        bad = [f"{c.value}={d}" for c, d in self.targets.items() if not 0 <= d <= 250]
        if bad:
            raise ValueError(f"targets: {', '.join(bad)} outside 0..250 working days; fix: give 0 to 250")
        return self


class PayoutAuthority(BaseModel):
    """The handlers' payout authority limit (审批权限), yuan: a claim paying more needs a
    supervisor's ``approve_payout`` before ``pay``.

    The limit of a claim is its county's (``counties``), else its region's (``regions``),
    else ``default_limit``; when a product of the claim's policies has a lower limit
    (``products``, by product code), that applies. Amounts are yuan strings (``"50000.00"``).
    Config default: 50,000 yuan everywhere (no public source fixes it).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    default_limit: NonNegativeYuan = Decimal("50000.00")
    regions: dict[str, NonNegativeYuan] = Field(default_factory=dict)
    counties: dict[str, NonNegativeYuan] = Field(default_factory=dict)
    products: dict[str, NonNegativeYuan] = Field(default_factory=dict)

    def limit_for(self, county: str | None, region: str, product_codes: list[str]) -> tuple[Decimal, str]:
        """The limit (yuan) for a claim and the rule that gave it, in words."""
        if county is not None and county in self.counties:
            limit, rule = self.counties[county], f"county {county}"
        elif region in self.regions:
            limit, rule = self.regions[region], f"region {region}"
        else:
            limit, rule = self.default_limit, "province default"
        for code in sorted(product_codes):
            if code in self.products and self.products[code] < limit:
                limit, rule = self.products[code], f"product {code}"
        return limit, rule


class SlaPolicy(BaseModel):
    """A versioned SLA policy: province default plus per-region overrides, and the payout
    authority limit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1)
    source: str = ""
    regions: dict[str, list[str]] = Field(default_factory=dict)
    default: Targets
    overrides: dict[str, Targets] = Field(default_factory=dict)
    payout_authority: PayoutAuthority = Field(default_factory=PayoutAuthority)
    reopen_calendar_days: int = Field(default=0, ge=0, le=3660)
    """How long after close or decline a supervisor may reopen a claim (重开; calendar days); the
    claim's workflow stays open that long. 0 (the default): claims end at once and cannot be
    reopened. A configuration choice, not a public figure: the shipped policies set 90."""

    @model_validator(mode="after")
    def _known_regions(self) -> SlaPolicy:
        unknown = [r for r in self.overrides if r not in self.regions] + [
            r for r in self.payout_authority.regions if r not in self.regions
        ]
        if unknown:
            raise ValueError(
                f"overrides: unknown region {', '.join(unknown)}; "
                "fix: list it under 'regions' with its counties"
            )
        seen: dict[str, str] = {}
        for region, counties in self.regions.items():
            for county in counties:
                if county in seen:
                    raise ValueError(
                        f"regions: county {county} is in both {seen[county]} and {region}; "
                        "fix: list it in one region"
                    )
                seen[county] = region
        return self

    def region_of(self, county: str | None) -> str:
        """The region (prefecture) of a county, or ``default``."""
        for region, counties in self.regions.items():
            if county in counties:
                return region
        return "default"

    def choose(self, req: SlaTargetRequest) -> SlaTarget:
        """The targets for a triaged claim in its region.

        A green-channel claim gets the green channel's target unless it needs an
        investigation or goes to the joint meeting on disputed cases (会商), which cannot be
        done in that time: it keeps that class's target (and its priority).
        """
        region = self.region_of(req.county)
        t = self.overrides.get(region, self.default) if region != "default" else self.default
        if req.green_channel and req.case_class not in (CaseClass.INVESTIGATION, CaseClass.DISPUTED):
            days = min(t.green_channel_working_days, t.targets[req.case_class])
            reason = f"green channel: {days} working days"
        else:
            days = t.targets[req.case_class]
            reason = f"case class {req.case_class.value}: {days} working days"
        limit, rule = self.payout_authority.limit_for(req.county, region, req.product_codes)
        return SlaTarget(
            policy_version=self.version,
            working_days=days,
            registration_working_days=t.registration_working_days,
            reason=f"{reason} ({region})",
            region=region,
            max_pause_working_days=t.max_pause_working_days,
            reassign_on_breach_to=t.reassign_on_breach_to,
            payout_authority_limit=limit,
            authority_rule=f"{rule}, SLA policy {self.version}",
            reopen_calendar_days=self.reopen_calendar_days,
        )


def parse_sla_policy(text: str, source: str) -> SlaPolicy:
    """Validate an SLA policy file's text.

    Raises:
        SlaPolicyError: bad JSON or content; names ``source`` and the field.
    """
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise SlaPolicyError(f"{source}: not valid JSON at line {e.lineno}: {e.msg}") from None
    try:
        return SlaPolicy.model_validate(raw)
    except ValidationError as e:
        raise SlaPolicyError(describe_validation_error(e, source, raw)) from None


@lru_cache(maxsize=4)
def load_sla_policy(path: Path | None = None) -> SlaPolicy:
    """Load the SLA policy from ``path`` (the configured ``CLAIMS_SLA_POLICY``, passed down from
    ``claims.infra.settings``: ``settings.sla.policy_file``), else ``rules/sla_policy.json``.

    Raises:
        SlaPolicyError: the file is missing or invalid.
    """
    path = path or POLICY_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise SlaPolicyError(f"{path}: cannot read the SLA policy: {e.strerror}") from None
    return parse_sla_policy(text, str(path))
