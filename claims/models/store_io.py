"""Inputs and results of the store activities: the reporting projection, the benefit ledgers, payouts.

Part of the boundary models (``claims.models``): import-light on purpose (pydantic and the
standard library only), so workflow code can import it inside the Temporal sandbox.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from pydantic import Field

from claims.models.claim import PaymentRecord, SlaClock, SlaState
from claims.models.common import Frozen, NonNegativeYuan, Stage
from claims.models.review_io import ReviewHold
from claims.models.rules_io import BenefitLine, CaseClass, PriorBenefit


class ClaimProjection(Frozen):
    """The reporting row for one claim, written by the ``project_claim`` activity.

    ``seq`` orders the views of one claim across all its workflow runs: the run's start
    (milliseconds since the epoch, UTC) × 1,000,000 + the run's publish counter (1, 2, ...),
    see :func:`projection_seq`. The store keeps the row of the highest one, so a retried write
    of an older view that lands late is skipped, and a claim whose workflow was started again
    (it had gone from Temporal, ``report_claim`` restarts it) overrides the old run's row.
    0 (inputs recorded before the counter) writes unconditionally.
    """

    claim_number: str
    workflow_id: str
    stage: Stage
    county: str
    township: str
    village: str
    assigned_handler: str | None
    green_channel: bool
    case_class: CaseClass | None
    sla_state: SlaState
    sla_deadline: datetime | None
    target_working_days: int | None
    reported_at: datetime
    registered_at: datetime | None = None
    decided_at: datetime | None = None
    paid_at: datetime | None = None
    total_paid: NonNegativeYuan = Decimal("0")
    seq: int = Field(default=0, ge=0)
    stuck_activity: str | None = None
    stuck_since: datetime | None = None
    reopened: int = Field(default=0, ge=0)
    """How often a supervisor reopened the claim (重开; migration 0015)."""
    paused: bool | None = None
    """The claim waits on the claimant: an open clock paused for documents (暂停·等待资料;
    migration 0016). None: the claim was started before ``lean-history`` and does not say (the
    supervisor's page asks its workflow)."""
    awaiting_approval: bool | None = None
    """At payout with a decided total above the handlers' authority limit and not yet approved
    (待审批赔付); None as for ``paused``."""
    review_queue: str | None = Field(default=None, max_length=16)
    """The queue (``review`` / ``siu``) of the claim's open review hold, if any."""


def supervision_facts(
    *,
    stage: Stage,
    clocks: Iterable[SlaClock],
    decision_total: Decimal | None,
    authority_limit: Decimal | None,
    approved: bool,
    review: ReviewHold | None,
) -> tuple[bool, bool, str | None]:
    """What a supervisor's counters need of a claim: (paused, awaiting approval, review queue).

    Paused: an open clock (not stopped) is paused (``paused_since``), i.e. the claim waits on
    the claimant's documents. Awaiting approval: stage payout, a decided total (yuan) above the
    authority limit (yuan, the SLA policy's ``payout_authority``) and no supervisor's approval
    yet. Review queue: the queue of an open review hold, else None. The workflow puts them in
    its projection (lean claims); the console computes them from a state for older claims.
    """
    paused = any(c.paused_since is not None and c.stopped_at is None for c in clocks)
    awaiting = (
        stage == Stage.PAYOUT
        and decision_total is not None
        and authority_limit is not None
        and decision_total > authority_limit
        and not approved
    )
    queue = review.queue.value if review is not None and review.status.value == "open" else None
    return paused, awaiting, queue


PROJECTION_SEQ_PER_RUN = 1_000_000
"""Room for a run's publish counter inside :attr:`ClaimProjection.seq`."""


def projection_seq(run_started_at: datetime, publishes: int) -> int:
    """:attr:`ClaimProjection.seq` of a run's ``publishes``-th view (1-based).

    Args:
        run_started_at: the workflow run's start, an aware datetime (``workflow.info().start_time``).
        publishes: the run's publish counter, 1 ≤ publishes < 1,000,000.

    Raises:
        ValueError: a naive datetime or a counter out of range.
    """
    if run_started_at.tzinfo is None:
        raise ValueError("run_started_at must be timezone-aware")
    if not 1 <= publishes < PROJECTION_SEQ_PER_RUN:
        raise ValueError(f"publishes must be 1..{PROJECTION_SEQ_PER_RUN - 1}, got {publishes}")
    ms = (run_started_at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    return ms * PROJECTION_SEQ_PER_RUN + publishes


class PriorBenefitsRequest(Frozen):
    """Input of ``find_prior_benefits``: the policies of a claim, and the claim itself (excluded)."""

    claim_number: str
    policy_numbers: list[str]


class PriorBenefitsResult(Frozen):
    """Benefits already paid (or reserved) under those policies by other claims.

    ``ledger_versions`` maps each policy number to its ledger version when the benefits were
    read: ``reserve_benefits`` reserves only if no other claim reserved, paid or released
    anything on those policies since (optimistic concurrency; empty in older histories).
    """

    benefits: list[PriorBenefit]
    ledger_versions: dict[str, int] = Field(default_factory=dict)


class ReserveBenefitsRequest(Frozen):
    """Input of ``reserve_benefits``: hold a decision's amounts against the policies' limits.

    ``lines`` are the payable lines of the decision; ``ledger_versions`` those read with the
    prior benefits the decision was computed from.
    """

    claim_number: str
    person_ref: str
    accident_date: date
    lines: list[BenefitLine]
    ledger_versions: dict[str, int]
    reserved_at: datetime


class ReserveBenefitsResult(Frozen):
    """``reserved`` false means another claim changed the ledger of one of the policies since
    the prior benefits were read (``conflicts`` names them): read again and decide again."""

    reserved: bool
    conflicts: list[str] = Field(default_factory=list)


class PayoutRequest(Frozen):
    """Input of ``record_payout``: every line of the decision becomes one payment."""

    claim_number: str
    transfer_ref: str
    lines: list[BenefitLine]
    paid_at: datetime
    first_number: int = 1
    """The payment number of the first line: after a reopen the new payment is numbered on
    from the claim's earlier ones (advances are numbered from ``ADVANCE_FIRST_NUMBER``)."""


ADVANCE_FIRST_NUMBER = 1001
"""Payment numbers of advances (先予支付) start here, apart from the final payment's 1..n."""


class AdvanceRequest(Frozen):
    """Input of ``record_advance``: an advance payment (先予支付), one ledger row of kind
    ``advance`` per line it was allotted to (``lines``: policy, benefit and amount of each)."""

    claim_number: str
    transfer_ref: str
    lines: list[BenefitLine]
    paid_at: datetime
    first_number: int = ADVANCE_FIRST_NUMBER


class ReceivableRequest(Frozen):
    """Input of ``record_receivable``: money the claimant owes back (追偿): an advance that the
    final decision (lower, or a decline) does not cover."""

    claim_number: str
    receivable_number: int
    policy_number: str
    amount: NonNegativeYuan
    reason: str
    created_at: datetime


class PayoutResult(Frozen):
    """Result of ``record_payout``: the claim's ledger rows after the call."""

    payments: list[PaymentRecord]
