"""What the policy register tells the engine about a claim: policy, insured person and household snapshots.

Part of the boundary models (``claims.models``): import-light on purpose (pydantic and the
standard library only), so workflow code can import it inside the Temporal sandbox.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from claims.models.common import Frozen, NonNegativeYuan


class Sex(StrEnum):
    MALE = "M"
    FEMALE = "F"


class PolicySnapshot(Frozen):
    """A policy as it stood at the time of the claim, copied from the policy register.

    ``sum_insured`` is per insured person, in yuan. ``terms_version`` names the product
    terms file version the policy was issued under (e.g. ``family_accident_40k@2020``).
    """

    policy_number: str
    product_code: str
    terms_version: str
    sum_insured: NonNegativeYuan
    start_date: date
    end_date: date
    issued_on: date


class InsuredSnapshot(Frozen):
    """The insured person's facts the rules need: no names or identity numbers."""

    person_ref: str  # opaque register id, never the identity number
    sex: Sex
    birth_date: date


class HouseholdFlags(Frozen):
    """Household facts used by green-channel triage (绿色通道)."""

    registered_poor: bool = False  # 建档立卡户
    special_family: bool = False  # 计生特殊家庭: 失独 / 伤残独生子女家庭
    hardship: bool = False  # 计生特困家庭
