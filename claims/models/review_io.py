"""Review sampling and fraud referral (复核抽检 / 反欺诈): the review activity's I/O and a claim's hold.

Part of the boundary models (``claims.models``): import-light on purpose (pydantic and the
standard library only), so workflow code can import it inside the Temporal sandbox.

Design: a hit is a **flag on the claim in stage ``payout``** (``ClaimState.review``), not a
stage of its own. The claim stays where the money is decided (赔付); ``pay`` is refused while
the hold is open, and a supervisor either clears it (``clear_review``) or sends the claim to
investigation (``refer_to_siu``: stage ``investigation``). A flag keeps every reader of the
stage (the projection, search attributes, supervisor counters, the console, reports) working
unchanged; "in review" is ``review.status == "open"``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import Field

from claims.models.common import Frozen, NonNegativeYuan, Outcome
from claims.models.register_io import PolicySnapshot
from claims.models.rules_io import Refusal


class ReviewQueue(StrEnum):
    """Where a hit sends the claim before payment: a second look, or the special investigation unit."""

    REVIEW = "review"  # 复核: a second look by a supervisor
    SIU = "siu"  # 反欺诈调查: a pattern of fraud risk; a supervisor decides whether to refer it


class ReviewStatus(StrEnum):
    """The hold's state: open (pay refused), cleared by a reviewer, or referred to investigation."""

    OPEN = "open"
    CLEARED = "cleared"
    REFERRED = "referred"


class ReviewRequest(Frozen):
    """Input of ``review_claim``: the adjudicated claim, what it pays and under which policies.

    ``person_ref`` finds the household on the register (the activity counts the household's
    other claims in the year before ``accident_date``).
    """

    claim_number: str
    person_ref: str
    accident_date: date
    outcome: Outcome
    total: NonNegativeYuan
    policies: list[PolicySnapshot]
    paying_policies: list[str] = Field(default_factory=list)


class ReviewResult(Frozen):
    """What the review rules said: the queue (None: no rule hit), the rule ids and reasons, and
    the facts they judged (so an auditor can check the sample: ``sample_bucket`` is
    ``int(sha256(claim_number)[:8], 16) % 10000``)."""

    queue: ReviewQueue | None = None
    rule_ids: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    rules_version: str
    engine: str
    sample_bucket: int
    household_claims_year: int = 0
    days_since_policy_start: int = 0
    limit_percent: int = 0


class ReviewHold(Frozen):
    """A claim's review hold (on ``ClaimState.review``): queue, rules, and what became of it."""

    queue: ReviewQueue
    rule_ids: list[str]
    reasons: list[str] = Field(default_factory=list)
    rules_version: str
    sample_bucket: int
    status: ReviewStatus = ReviewStatus.OPEN
    held_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    total: Decimal = Decimal("0")

    @property
    def open(self) -> bool:
        """Pay is refused while the hold is open."""
        return self.status is ReviewStatus.OPEN


class LetterRequest(Frozen):
    """Input of ``issue_refusal_letter`` (拒赔通知书, Insurance Law art. 24): the declined claim as
    the letter states it. ``issued_at`` is the letter's date (the workflow's time); the same
    request gives the same PDF bytes, so ``claims letter`` reproduces the recorded sha256."""

    claim_number: str
    county: str
    township: str
    village: str
    accident_date: date
    reported_on: date
    outcome: Outcome
    policies: list[PolicySnapshot]
    reasons: list[str]
    refusals: list[Refusal] = Field(default_factory=list)
    issued_at: datetime


class LetterIssued(Frozen):
    """A refusal letter issued: its sha256 and size, when, and the letter layout's version."""

    sha256: str
    size: int
    issued_at: datetime
    layout: str
    request: LetterRequest
    """What the letter was built from: ``claims letter`` builds it again to the same bytes."""
