"""SLA policy as data: which working-day target a claim gets (``rules/sla_policy.json``)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from claims.models import CaseClass, SlaTarget, SlaTargetRequest

POLICY_FILE = Path(__file__).resolve().parent / "sla_policy.json"


class SlaPolicy(BaseModel):
    """Programme targets in working days (seed: 3 / 5 / 15 / 30 and the green channel's 2).

    Attributes:
        version: recorded with each claim so auditors know which targets applied.
        registration_working_days: 0 = registered the same working day (Changde).
        targets: working days from registration to money paid, per case class.
        green_channel_working_days: the green channel's target (default 2, seed's example).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    source: str = ""
    registration_working_days: int = Field(ge=0)
    targets: dict[CaseClass, int]
    green_channel_working_days: int = Field(ge=0)

    def choose(self, req: SlaTargetRequest) -> SlaTarget:
        """The resolution target for a triaged claim.

        A green-channel claim gets the green channel's target unless it needs an
        investigation, which cannot be done in that time: it then keeps the investigation
        target (and its priority).

        Raises:
            KeyError: the policy has no target for the case class.
        """
        if req.case_class not in self.targets:
            raise KeyError(f"SLA policy {self.version} has no target for case class {req.case_class}")
        if req.green_channel and req.case_class != CaseClass.INVESTIGATION:
            days = min(self.green_channel_working_days, self.targets[req.case_class])
            reason = f"green channel: {days} working days"
        else:
            days = self.targets[req.case_class]
            reason = f"case class {req.case_class.value}: {days} working days"
        return SlaTarget(
            policy_version=self.version,
            working_days=days,
            registration_working_days=self.registration_working_days,
            reason=reason,
        )


@lru_cache(maxsize=4)
def load_sla_policy(path: Path = POLICY_FILE) -> SlaPolicy:
    """Load and validate an SLA policy file (``ValueError`` naming the file on bad content)."""
    try:
        return SlaPolicy.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, OSError) as e:
        raise ValueError(f"{path}: invalid SLA policy: {e}") from e
