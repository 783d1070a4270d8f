"""The payment sink: where a recorded payout becomes a bank transfer instruction.

``record_payment`` (``claims/store/ledger.py``; the ``record_payout`` activity commits one payment
at a time) calls the sink once for each ledger row it writes, inside the row's transaction,
before it commits:

- a retried or duplicated activity finds the row already written and calls nothing, so
  after a successful write the sink is never called twice;
- if the sink raises, the row is rolled back and the activity retries both together, so no
  row is ever written without its instruction;
- if the process dies after the sink returned but before the commit, the retry calls the
  sink again with the same ``idempotency_key``. That window cannot be closed from this
  side: a real sink must pass the key to the bank (or its own outbox) so that a repeat of a
  key is ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from pydantic import BaseModel, ConfigDict


class PaymentInstruction(BaseModel):
    """One transfer to make: one payment of one claim. No personal data: the sink looks up
    the beneficiary's account by claim number itself."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    claim_number: str
    payment_number: int
    policy_number: str
    amount: Decimal
    transfer_ref: str

    @property
    def idempotency_key(self) -> str:
        """``<claim number>/<payment number>``: the key the bank must deduplicate on."""
        return f"{self.claim_number}/{self.payment_number}"


PaymentSink = Callable[[PaymentInstruction], None]
"""A callable that sends one transfer instruction; it raises to make the write roll back."""
