"""Store activities: reporting projection, payout ledger, reservations, escalation outbox.

Each activity owns its transaction: one ``claims.store.db.unit_of_work`` per write (commits
when the store call returns, rolls back if it raises); the store functions never commit.
"""

from __future__ import annotations

from temporalio import activity

from claims import store
from claims.store.db import Sessions, unit_of_work
from claims.infra.logging import get_logger
from claims.models import (
    Ack,
    AdvanceRequest,
    ClaimProjection,
    EscalationInput,
    NoticeInput,
    PayoutRequest,
    PayoutResult,
    PriorBenefitsRequest,
    PriorBenefitsResult,
    ReceivableRequest,
    ReserveBenefitsRequest,
    ReserveBenefitsResult,
)
from claims.domain.payments import PaymentSink


class StoreActivities:
    """Activities that write the SQL store.

    Args:
        sessions: the store's session factory (one per worker process).
        payment_sink: sends each new payout row's transfer instruction (``claims/domain/payments.py``);
            None records the ledger only.
    """

    def __init__(self, sessions: Sessions, payment_sink: PaymentSink | None = None) -> None:
        self._sessions = sessions
        self._payment_sink = payment_sink

    @activity.defn
    def project_claim(self, proj: ClaimProjection) -> Ack:
        """Write the claim's reporting row (stage, handler, SLA state and deadline, times);
        a view older than the row's (``proj.seq``) is skipped, see ``store.update_projection``."""
        with unit_of_work(self._sessions) as s:
            written = store.update_projection(s, proj, store.utcnow())
        if not written:
            get_logger("claims.store", claim_number=proj.claim_number).info(
                "stale projection skipped", seq=proj.seq, stage=proj.stage.value
            )
        return Ack()

    @activity.defn
    def record_payout(self, req: PayoutRequest) -> PayoutResult:
        """Write one ledger row per benefit line (赔付), idempotent on (claim, payment number):
        a retried activity never writes a second row.

        One transaction per payment: its row, its transfer instruction to the payment sink and
        its reservation marked paid commit together, before the next payment is sent (see
        ``store.record_payment``), so a failure later in the payout never undoes a payment
        whose instruction went out."""
        for number in range(1, len(req.lines) + 1):
            with unit_of_work(self._sessions) as s:
                store.record_payment(s, req, number, self._payment_sink)
        with unit_of_work(self._sessions) as s:
            payments = store.payments_of(s, req.claim_number)
        get_logger("claims.payout", claim_number=req.claim_number).info(
            "payout recorded", payments=len(payments), total=str(sum(p.amount for p in payments))
        )
        return PayoutResult(payments=payments)

    @activity.defn
    def record_advance(self, req: AdvanceRequest) -> PayoutResult:
        """Write an advance payment (先予支付): rows of kind ``advance``, each sent to the payment
        sink once, idempotent on (claim, payment number) like ``record_payout``."""
        with unit_of_work(self._sessions) as s:
            payments = store.record_advance(s, req, self._payment_sink)
        get_logger("claims.payout", claim_number=req.claim_number).info(
            "advance recorded", total=str(sum(ln.amount for ln in req.lines))
        )
        return PayoutResult(payments=payments)

    @activity.defn
    def record_receivable(self, req: ReceivableRequest) -> Ack:
        """Write a receivable (追偿) for an advance the final decision does not cover; idempotent."""
        with unit_of_work(self._sessions) as s:
            store.record_receivable(s, req)
        return Ack()

    @activity.defn
    def cancel_receivables(self, claim_number: str) -> Ack:
        """Cancel a reopened claim's open receivables (its new decision says what is owed back)."""
        with unit_of_work(self._sessions) as s:
            store.cancel_receivables(s, claim_number)
        return Ack()

    @activity.defn
    def escalate_breach(self, inp: EscalationInput) -> Ack:
        """Queue a breach notice to the county's supervisors (outbox) and log it."""
        msg = (
            f"claim {inp.claim_number} ({inp.county} {inp.township}) breached its "
            f"{inp.clock} target due {inp.deadline.isoformat()}; handler {inp.assigned_handler}"
        )
        with unit_of_work(self._sessions) as s:
            queued = store.add_notification(
                s,
                inp.claim_number,
                "sla_breach",
                inp.county,
                msg,
                dedupe_key=f"{inp.claim_number}:{inp.clock}:breach",
                now=store.utcnow(),
            )
        get_logger("claims.sla", claim_number=inp.claim_number).warning(
            "sla breach escalated", clock=inp.clock, county=inp.county, queued=queued
        )
        return Ack()

    @activity.defn
    def send_notice(self, inp: NoticeInput) -> Ack:
        """Queue a notice (SLA warning, decline notice to the claimant, advance payment due) in
        the outbox; idempotent on ``dedupe_key``."""
        with unit_of_work(self._sessions) as s:
            queued = store.add_notification(
                s,
                inp.claim_number,
                inp.kind,
                inp.county,
                inp.message,
                dedupe_key=inp.dedupe_key,
                now=store.utcnow(),
                recipient_role=inp.recipient_role,
            )
        get_logger("claims.notice", claim_number=inp.claim_number).info(
            "notice queued", kind=inp.kind, recipient=inp.recipient_role, queued=queued
        )
        return Ack()

    @activity.defn
    def find_prior_benefits(self, req: PriorBenefitsRequest) -> PriorBenefitsResult:
        """Benefits other claims already drew (paid, or reserved at their adjudication) from the
        same policies, with each person's reference and the policies' ledger versions, for
        adjudication: death less the person's disability for the same accident, a death paid
        once, yearly limits and critical illness once per person (or household)."""
        with unit_of_work(self._sessions) as s:
            return store.find_prior_benefits(s, req.claim_number, req.policy_numbers)

    @activity.defn
    def reserve_benefits(self, req: ReserveBenefitsRequest) -> ReserveBenefitsResult:
        """Hold a decision's amounts against the policies' limits until paid; refused
        (``reserved`` false) when another claim changed those ledgers since the prior benefits
        were read, so two racing adjudications never both use one limit
        (``store.reserve_benefits``). Idempotent for a retried attempt."""
        with unit_of_work(self._sessions) as s:
            result = store.reserve_benefits(s, req)
        get_logger("claims.payout", claim_number=req.claim_number).info(
            "benefits reserved" if result.reserved else "reservation conflict: decide again",
            conflicts=result.conflicts,
        )
        return result
